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

_condapkg_epoch() { echo "${SOURCE_DATE_EPOCH:-1700000000}"; }

# JSON string literal for $1 (paths and names here are plain; escape \ and " anyway).
_condapkg_json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# _condapkg_tar DIR OUT MEMBER...: a reproducible uncompressed tar of MEMBERs (relative to DIR).
_condapkg_tar() {
  local dir=$1 out=$2
  shift 2
  tar -C "$dir" --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$(_condapkg_epoch)" --no-recursion -cf "$out" -- "$@"
}

# condapkg_build STAGE CHANNEL SUBDIR NAME VERSION BUILD_NUMBER [DEPEND...]
condapkg_build() {
  local stage=$1 channel=$2 subdir=$3 name=$4 version=$5 number=$6
  shift 6
  local -a depends=("$@")
  local epoch work p rel
  epoch=$(_condapkg_epoch)
  [[ -d "$stage" ]] || { echo "condapkg: $stage is not a directory" >&2; return 1; }
  work=$(mktemp -d) || return 1

  # The payload: every file and symlink below STAGE, sorted (directories are implied).
  local -a files=()
  while IFS= read -r -d '' p; do files+=("${p#./}"); done \
    < <(cd "$stage" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z)
  ((${#files[@]})) || { echo "condapkg: $stage has no files" >&2; rm -rf "$work"; return 1; }

  # Build string from the payload's content (names, modes, bytes, link targets) and the depends.
  local digest
  digest=$(
    cd "$stage" || exit 1
    for rel in "${files[@]}"; do
      if [[ -L "$rel" ]]; then
        printf 'L %s -> %s\n' "$rel" "$(readlink "$rel")"
      else
        printf 'F %s %s %s\n' "$rel" "$(stat -c %a "$rel")" "$(sha256sum <"$rel" | cut -c1-64)"
      fi
    done
    printf 'D %s\n' "${depends[@]}"
  )
  local build
  build="h$(printf '%s' "$digest" | sha256sum | cut -c1-8)_$number"
  local dist="$name-$version-$build"

  # info/: index.json, paths.json, files, has_prefix.
  mkdir -p "$work/root/info"
  cp -a "$stage/." "$work/root/"
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
  local deps_json="" d
  for d in "${depends[@]}"; do deps_json+="${deps_json:+,}$(_condapkg_json_str "$d")"; done
  printf '{"arch":%s,"build":"%s","build_number":%s,"depends":[%s],"license":"GPL-2.0-only","name":"%s"%s,"platform":%s,"subdir":"%s","timestamp":%s,"version":"%s"}\n' \
    "$arch" "$build" "$number" "$deps_json" "$name" "$noarch" "$platform" "$subdir" \
    "$((epoch * 1000))" "$version" >"$work/root/info/index.json"

  local paths_json="" has_prefix="" sha size target
  for rel in "${files[@]}"; do
    local entry
    entry="{\"_path\":$(_condapkg_json_str "$rel")"
    if [[ -L "$stage/$rel" ]]; then
      # As conda-build records links: the hash and size of what the link points at.
      target=$(cd "$stage/$(dirname "$rel")" && realpath -m "$(readlink "$stage/$rel")")
      if [[ -f "$target" ]]; then
        sha=$(sha256sum <"$target" | cut -c1-64)
        size=$(stat -c %s "$target")
        entry+=",\"path_type\":\"softlink\",\"sha256\":\"$sha\",\"size_in_bytes\":$size}"
      else
        entry+=",\"path_type\":\"softlink\"}"
      fi
    else
      sha=$(sha256sum <"$stage/$rel" | cut -c1-64)
      size=$(stat -c %s "$stage/$rel")
      entry+=",\"path_type\":\"hardlink\""
      if grep -qF -- "$CONDAPKG_PLACEHOLDER" "$stage/$rel"; then
        entry+=",\"file_mode\":\"text\",\"prefix_placeholder\":\"$CONDAPKG_PLACEHOLDER\""
        has_prefix+="$CONDAPKG_PLACEHOLDER text $rel"$'\n'
      fi
      entry+=",\"sha256\":\"$sha\",\"size_in_bytes\":$size}"
    fi
    paths_json+="${paths_json:+,}$entry"
  done
  printf '{"paths":[%s],"paths_version":1}\n' "$paths_json" >"$work/root/info/paths.json"
  printf '%s\n' "${files[@]}" >"$work/root/info/files"
  [[ -z "$has_prefix" ]] || printf '%s' "$has_prefix" >"$work/root/info/has_prefix"

  local -a info=()
  while IFS= read -r -d '' p; do info+=("${p#./}"); done \
    < <(cd "$work/root" && find info -type f -print0 | LC_ALL=C sort -z)

  mkdir -p "$channel/$subdir"
  local formats=" ${CONDAPKG_FORMATS:-tar.bz2 conda} "
  # .tar.bz2: info/ first, then the payload (conda's own order).
  if [[ $formats == *" tar.bz2 "* ]]; then
    _condapkg_tar "$work/root" "$work/all.tar" "${info[@]}" "${files[@]}" &&
      bzip2 -9 -c "$work/all.tar" >"$work/$dist.tar.bz2" &&
      mv -f "$work/$dist.tar.bz2" "$channel/$subdir/" || { rm -rf "$work"; return 1; }
  fi

  # .conda: stored zip of metadata.json, pkg-*.tar.zst, info-*.tar.zst (metadata.json first).
  if [[ $formats == *" conda "* ]]; then
    mkdir -p "$work/zip"
    printf '{"conda_pkg_format_version": 2}' >"$work/zip/metadata.json"
    _condapkg_tar "$work/root" "$work/pkg.tar" "${files[@]}" &&
      _condapkg_tar "$work/root" "$work/info.tar" "${info[@]}" &&
      zstd -q -19 -c "$work/pkg.tar" >"$work/zip/pkg-$dist.tar.zst" &&
      zstd -q -19 -c "$work/info.tar" >"$work/zip/info-$dist.tar.zst" &&
      chmod 644 "$work/zip/"* && touch -d "@$epoch" "$work/zip/"* &&
      (cd "$work/zip" && TZ=UTC zip -q -X -0 "$work/$dist.conda" metadata.json "pkg-$dist.tar.zst" \
        "info-$dist.tar.zst") &&
      mv -f "$work/$dist.conda" "$channel/$subdir/" || { rm -rf "$work"; return 1; }
  fi
  rm -rf "$work"
  CONDAPKG_LAST=$dist  # for callers that want the file name
}

# _condapkg_record FILE: the repodata record of a package file: its info/index.json plus md5,
# sha256 and size.
_condapkg_record() {
  local file=$1 index
  case $file in
    *.tar.bz2) index=$(tar -xjOf "$file" info/index.json) ;;
    *.conda)
      local base
      base=$(basename "$file" .conda)
      index=$(unzip -p "$file" "info-$base.tar.zst" | zstd -dcq | tar -xO info/index.json)
      ;;
  esac
  [[ "$index" == "{"*"}" ]] || { echo "condapkg: no info/index.json in $file" >&2; return 1; }
  printf '%s,"md5":"%s","sha256":"%s","size":%s}' "${index%\}}" \
    "$(md5sum <"$file" | cut -c1-32)" "$(sha256sum <"$file" | cut -c1-64)" "$(stat -c %s "$file")"
}

# condapkg_index CHANNEL: CHANNEL/{noarch,linux-64,...}/repodata.json.
condapkg_index() {
  local channel=$1 subdir f
  mkdir -p "$channel/noarch" "$channel/linux-64"
  for subdir in "$channel"/*/; do
    subdir=$(basename "$subdir")
    local bz2="" conda=""
    for f in "$channel/$subdir"/*.tar.bz2; do
      [[ -e "$f" ]] || continue
      bz2+="${bz2:+,}$(_condapkg_json_str "$(basename "$f")"):$(_condapkg_record "$f")" || return 1
    done
    for f in "$channel/$subdir"/*.conda; do
      [[ -e "$f" ]] || continue
      conda+="${conda:+,}$(_condapkg_json_str "$(basename "$f")"):$(_condapkg_record "$f")" || return 1
    done
    printf '{"info":{"subdir":"%s"},"packages":{%s},"packages.conda":{%s},"removed":[],"repodata_version":1}\n' \
      "$subdir" "$bz2" "$conda" >"$channel/$subdir/repodata.json.tmp" &&
      mv -f "$channel/$subdir/repodata.json.tmp" "$channel/$subdir/repodata.json"
  done
}
