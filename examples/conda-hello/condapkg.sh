# Makes conda packages and channels with standard tools only (tar, bzip2, zstd, zip, sha256sum,
# md5sum), no conda and no network. Sourced by make-channel.sh and by the integration tests and
# benchmarks that need channels of their own:
#
#   source examples/conda-hello/condapkg.sh
#   condapkg_build STAGE CHANNEL SUBDIR NAME VERSION BUILD_NUMBER [DEPEND...]
#   condapkg_index CHANNEL
#
# condapkg_build packs the files under STAGE (the package's payload, as relative paths below the
# environment prefix) into CHANNEL/SUBDIR/NAME-VERSION-<build>.tar.bz2 and .conda, with the build
# string "h<8 hex digits of the payload's hash>_BUILD_NUMBER" (so a changed payload is a new file).
# It writes info/index.json, info/paths.json (sha256 and size of every file, path_type hardlink or
# softlink) and info/files. A text file containing the placeholder prefix
# /opt/anaconda1anaconda2anaconda3 is declared with prefix_placeholder in paths.json (and in the
# legacy info/has_prefix), so installers replace it with the real prefix. SUBDIR "noarch" makes a
# `noarch: generic` package.
#
# CONDAPKG_FORMATS="conda" (or "tar.bz2") limits the formats written (default: both).
# CONDAPKG_ZSTD_LEVEL is the zstd level of the tars inside a .conda (default 19, as conda-build
# writes them); the integration tests use 3, ten times as fast on megabytes of test bytes, and
# decompressed as fast.
#
# condapkg_index writes CHANNEL/{noarch,linux-64}/repodata.json listing every package of each subdir
# (both formats) with its md5, sha256 and size, as conda-index does.
#
# Formats (conda package specification): a .tar.bz2 is one bzip2'd tar of info/ and the payload; a
# .conda is an uncompressed ("stored") zip holding metadata.json ({"conda_pkg_format_version": 2}),
# pkg-<dist>.tar.zst (the payload) and info-<dist>.tar.zst (info/). Everything is reproducible:
# entries sorted, owners 0:0, mtimes SOURCE_DATE_EPOCH (default 1700000000), so the same inputs give
# byte-identical package files.
# shellcheck shell=bash

CONDAPKG_PLACEHOLDER=/opt/anaconda1anaconda2anaconda3

# The helpers run one process per tool and package, not one per file, and no command substitution
# where a variable does: the integration tests make hundreds of packages, and every fork costs
# milliseconds.

# _condapkg_json_str VAR S: sets VAR to the JSON string literal for S (paths and names here are
# plain; escape \ and " anyway).
_condapkg_json_str() {
  local s=${2//\\/\\\\}
  s=${s//\"/\\\"}
  printf -v "$1" '"%s"' "$s"
}

# _condapkg_tar OUT [-C DIR MEMBER...]...: a reproducible uncompressed tar of the MEMBERs (each
# relative to the DIR named before it), in the order given.
_condapkg_tar() {
  local out=$1
  shift
  tar --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH:-1700000000}" \
    --no-recursion -cf "$out" "$@"
}

# _condapkg_sums DIR ALGO VAR FILE...: fills the associative array VAR with FILE -> hex digest of
# DIR/FILE, from one ALGOsum process (-z: NUL-terminated lines, names not escaped).
_condapkg_sums() {
  local dir=$1 algo=$2 line hash n=0
  local -n _condapkg_out=$3
  shift 3
  while IFS= read -r -d '' line; do
    hash=${line%% *}
    _condapkg_out[${line:${#hash}+2}]=$hash
    n=$((n + 1))
  done < <(cd "$dir" && "${algo}sum" -z -- "$@")
  ((n == $#)) || { echo "condapkg: could not hash every file in $dir" >&2; return 1; }
}

# _condapkg_stats DIR MODES SIZES FILE...: fills the associative arrays MODES and SIZES with FILE ->
# octal permission bits and FILE -> size in bytes of DIR/FILE, from one stat process.
_condapkg_stats() {
  local dir=$1 line rest n=0
  local -n _condapkg_modes=$2 _condapkg_sizes=$3
  shift 3
  while IFS= read -r -d '' line; do
    rest=${line#* }
    _condapkg_modes[${rest#* }]=${line%% *}
    _condapkg_sizes[${rest#* }]=${rest%% *}
    n=$((n + 1))
  done < <(cd "$dir" && stat --printf '%a %s %n\0' -- "$@")
  ((n == $#)) || { echo "condapkg: could not stat every file in $dir" >&2; return 1; }
}

# condapkg_build STAGE CHANNEL SUBDIR NAME VERSION BUILD_NUMBER [DEPEND...]
condapkg_build() {
  local stage=$1 channel=$2 subdir=$3 name=$4 version=$5 number=$6
  shift 6
  local -a depends=("$@")
  local epoch=${SOURCE_DATE_EPOCH:-1700000000} work p rel
  [[ -d "$stage" ]] || { echo "condapkg: $stage is not a directory" >&2; return 1; }
  work=$(mktemp -d) || return 1

  # The payload: every file and symlink below STAGE, sorted (directories are implied).
  local -a files=() regular=()
  while IFS= read -r -d '' p; do
    files+=("${p#./}")
    [[ -L "$stage/${p#./}" ]] || regular+=("${p#./}")
  done < <(cd "$stage" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z)
  ((${#files[@]})) || { echo "condapkg: $stage has no files" >&2; rm -rf "$work"; return 1; }
  local -A sha=() mode=() size=() placeheld=()
  if ((${#regular[@]})); then
    _condapkg_sums "$stage" sha256 sha "${regular[@]}" &&
      _condapkg_stats "$stage" mode size "${regular[@]}" || { rm -rf "$work"; return 1; }
    # The regular files holding the placeholder prefix (grep -l, NUL-separated names).
    while IFS= read -r -d '' p; do placeheld[$p]=1; done \
      < <(cd "$stage" && grep -lZF -- "$CONDAPKG_PLACEHOLDER" "${regular[@]}")
  fi
  local -A link=()
  for rel in "${files[@]}"; do
    [[ -L "$stage/$rel" ]] && link[$rel]=$(readlink "$stage/$rel")
  done

  # Build string from the payload's content (names, modes, bytes, link targets) and the depends.
  local digest="" build
  for rel in "${files[@]}"; do
    if [[ -n "${link[$rel]+set}" ]]; then
      digest+="L $rel -> ${link[$rel]}"$'\n'
    else
      digest+="F $rel ${mode[$rel]} ${sha[$rel]}"$'\n'
    fi
  done
  digest+=$(printf 'D %s\n' "${depends[@]}")
  build=$(printf '%s' "$digest" | sha256sum)
  build="h${build:0:8}_$number"
  local dist="$name-$version-$build"

  # info/: index.json, paths.json, files, has_prefix.
  mkdir -p "$work/root/info"
  local arch=null platform=null noarch=""
  if [[ "$subdir" == noarch ]]; then
    noarch=',"noarch":"generic"'
  else
    platform=\"${subdir%%-*}\"
    case ${subdir#*-} in
      64) arch='"x86_64"' ;;
      aarch64) arch='"aarch64"' ;;
      *) arch="\"${subdir#*-}\"" ;;
    esac
  fi
  local deps_json="" d quoted
  for d in "${depends[@]}"; do
    _condapkg_json_str quoted "$d"
    deps_json+="${deps_json:+,}$quoted"
  done
  printf '{"arch":%s,"build":"%s","build_number":%s,"depends":[%s],"license":"GPL-2.0-only","name":"%s"%s,"platform":%s,"subdir":"%s","timestamp":%s,"version":"%s"}\n' \
    "$arch" "$build" "$number" "$deps_json" "$name" "$noarch" "$platform" "$subdir" \
    "$((epoch * 1000))" "$version" >"$work/root/info/index.json"

  local paths_json="" has_prefix="" target entry
  local -a targets=()
  local -A target_sha=() target_mode=() target_size=()
  # As conda-build records links: the hash and size of the file a link points at, when it is one.
  for rel in "${files[@]}"; do
    [[ -n "${link[$rel]+set}" ]] || continue
    target=$(cd "$stage/$(dirname "$rel")" && realpath -m "${link[$rel]}")
    link[$rel]=$target
    [[ -f "$target" ]] && targets+=("$target")
  done
  if ((${#targets[@]})); then
    _condapkg_sums / sha256 target_sha "${targets[@]}" &&
      _condapkg_stats / target_mode target_size "${targets[@]}" || { rm -rf "$work"; return 1; }
  fi
  for rel in "${files[@]}"; do
    _condapkg_json_str entry "$rel"
    entry="{\"_path\":$entry"
    if [[ -n "${link[$rel]+set}" ]]; then
      target=${link[$rel]}
      if [[ -n "${target_sha[$target]+set}" ]]; then
        entry+=",\"path_type\":\"softlink\",\"sha256\":\"${target_sha[$target]}\",\"size_in_bytes\":${target_size[$target]}}"
      else
        entry+=",\"path_type\":\"softlink\"}"
      fi
    else
      entry+=",\"path_type\":\"hardlink\""
      if [[ -n "${placeheld[$rel]+set}" ]]; then
        entry+=",\"file_mode\":\"text\",\"prefix_placeholder\":\"$CONDAPKG_PLACEHOLDER\""
        has_prefix+="$CONDAPKG_PLACEHOLDER text $rel"$'\n'
      fi
      entry+=",\"sha256\":\"${sha[$rel]}\",\"size_in_bytes\":${size[$rel]}}"
    fi
    paths_json+="${paths_json:+,}$entry"
  done
  printf '{"paths":[%s],"paths_version":1}\n' "$paths_json" >"$work/root/info/paths.json"
  printf '%s\n' "${files[@]}" >"$work/root/info/files"
  # info/'s members in name order.
  local -a info=(info/files)
  if [[ -n "$has_prefix" ]]; then
    printf '%s' "$has_prefix" >"$work/root/info/has_prefix"
    info+=(info/has_prefix)
  fi
  info+=(info/index.json info/paths.json)

  [[ -d "$channel/$subdir" ]] || mkdir -p "$channel/$subdir"
  local formats=" ${CONDAPKG_FORMATS:-tar.bz2 conda} "
  # .tar.bz2: info/ first, then the payload (conda's own order).
  if [[ $formats == *" tar.bz2 "* ]]; then
    _condapkg_tar "$work/all.tar" -C "$work/root" "${info[@]}" -C "$stage" "${files[@]}" &&
      bzip2 -9 -c "$work/all.tar" >"$work/$dist.tar.bz2" &&
      mv -f "$work/$dist.tar.bz2" "$channel/$subdir/" || { rm -rf "$work"; return 1; }
  fi

  # .conda: stored zip of metadata.json, pkg-*.tar.zst, info-*.tar.zst (metadata.json first).
  if [[ $formats == *" conda "* ]]; then
    mkdir "$work/zip"
    printf '{"conda_pkg_format_version": 2}' >"$work/zip/metadata.json"
    _condapkg_tar "$work/pkg.tar" -C "$stage" "${files[@]}" &&
      _condapkg_tar "$work/info.tar" -C "$work/root" "${info[@]}" &&
      zstd -q "-${CONDAPKG_ZSTD_LEVEL:-19}" -c "$work/pkg.tar" >"$work/zip/pkg-$dist.tar.zst" &&
      zstd -q "-${CONDAPKG_ZSTD_LEVEL:-19}" -c "$work/info.tar" >"$work/zip/info-$dist.tar.zst" &&
      chmod 644 "$work/zip/"* && touch -d "@$epoch" "$work/zip/"* &&
      (cd "$work/zip" && TZ=UTC zip -q -X -0 "$work/$dist.conda" metadata.json "pkg-$dist.tar.zst" \
        "info-$dist.tar.zst") &&
      mv -f "$work/$dist.conda" "$channel/$subdir/" || { rm -rf "$work"; return 1; }
  fi
  rm -rf "$work"
  CONDAPKG_LAST=$dist  # for callers that want the file name
}

# _condapkg_index_json FILE VAR: sets VAR to the info/index.json of a package file.
_condapkg_index_json() {
  local file=$1 base
  local -n _condapkg_json=$2
  case $file in
    *.tar.bz2) _condapkg_json=$(tar -xjOf "$file" info/index.json) ;;
    *.conda)
      base=${file##*/}
      base=${base%.conda}
      _condapkg_json=$(unzip -p "$file" "info-$base.tar.zst" | zstd -dcq | tar -xO info/index.json)
      ;;
  esac
  [[ "$_condapkg_json" == "{"*"}" ]] || { echo "condapkg: no info/index.json in $file" >&2; return 1; }
}

# condapkg_index CHANNEL: CHANNEL/{noarch,linux-64,...}/repodata.json, each package's record being
# its info/index.json plus md5, sha256 and size (as conda-index writes them).
condapkg_index() {
  local channel=$1 dir subdir f base index quoted
  mkdir -p "$channel/noarch" "$channel/linux-64"
  for dir in "$channel"/*/; do
    dir=${dir%/}
    subdir=${dir##*/}
    local -a names=()
    for f in "$dir"/*.tar.bz2 "$dir"/*.conda; do
      [[ -e "$f" ]] && names+=("${f##*/}")
    done
    local -A md5=() sha=() mode=() size=()
    if ((${#names[@]})); then
      _condapkg_sums "$dir" md5 md5 "${names[@]}" &&
        _condapkg_sums "$dir" sha256 sha "${names[@]}" &&
        _condapkg_stats "$dir" mode size "${names[@]}" || return 1
    fi
    local bz2="" conda="" record
    for base in "${names[@]}"; do
      _condapkg_index_json "$dir/$base" index || return 1
      _condapkg_json_str quoted "$base"
      printf -v record '%s:%s,"md5":"%s","sha256":"%s","size":%s}' "$quoted" "${index%\}}" \
        "${md5[$base]}" "${sha[$base]}" "${size[$base]}"
      if [[ "$base" == *.conda ]]; then
        conda+="${conda:+,}$record"
      else
        bz2+="${bz2:+,}$record"
      fi
    done
    printf '{"info":{"subdir":"%s"},"packages":{%s},"packages.conda":{%s},"removed":[],"repodata_version":1}\n' \
      "$subdir" "$bz2" "$conda" >"$dir/repodata.json.tmp" &&
      mv -f "$dir/repodata.json.tmp" "$dir/repodata.json"
  done
}
