#!/usr/bin/env bash
# The bundled example's channel (examples/conda-hello/make-channel.sh) is built offline, is the same
# bytes twice, has repodata that matches its files, and installs with `docker-envs env install` from
# an @EXPLICIT list of file:// URLs, in both package formats, into a prefix where its
# prefix-replaced script runs and reads its dependency's data file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli env install
need_cmd busybox zstd zip unzip bzip2 python3
file_is_static /bin/busybox || skip "/bin/busybox is not statically linked (install busybox-static)"

example=$DE_SOURCE_DIR/examples/conda-hello
bash "$example/make-channel.sh" "$TEST_TMP/channel" >"$TEST_TMP/make.log" 2>&1 ||
  { cat "$TEST_TMP/make.log" >&2; die "make-channel.sh failed"; }
bash "$example/make-channel.sh" "$TEST_TMP/channel2" >/dev/null 2>&1 || die "make-channel.sh failed the second time"
diff -r -x explicit.txt "$TEST_TMP/channel" "$TEST_TMP/channel2" >/dev/null || die "two runs of make-channel.sh wrote different channels"
ls "$TEST_TMP" | grep -q 'channel\.new' && die "make-channel.sh left a temporary directory"

# Repodata: every file listed once per format, with its real size, md5 and sha256; depends kept.
python3 - "$TEST_TMP/channel" <<'PY' || die "repodata.json does not match the channel's files"
import hashlib, json, os, sys, zipfile
ch = sys.argv[1]
seen = set()
for subdir in ("noarch", "linux-64"):
    rd = json.load(open(os.path.join(ch, subdir, "repodata.json")))
    assert rd["info"]["subdir"] == subdir, rd["info"]
    for key, ext in (("packages", ".tar.bz2"), ("packages.conda", ".conda")):
        for fn, rec in rd[key].items():
            assert fn.endswith(ext), fn
            data = open(os.path.join(ch, subdir, fn), "rb").read()
            assert rec["size"] == len(data), fn
            assert rec["sha256"] == hashlib.sha256(data).hexdigest(), fn
            assert rec["md5"] == hashlib.md5(data).hexdigest(), fn
            assert rec["subdir"] == subdir and fn.startswith(f'{rec["name"]}-{rec["version"]}-{rec["build"]}'), fn
            if ext == ".conda":
                z = zipfile.ZipFile(os.path.join(ch, subdir, fn))
                names = z.namelist()
                assert names[0] == "metadata.json", names
                assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()), fn
                assert json.loads(z.read("metadata.json"))["conda_pkg_format_version"] == 2
            seen.add(rec["name"])
    files = sorted(f for f in os.listdir(os.path.join(ch, subdir)) if f != "repodata.json")
    assert files == sorted(list(rd["packages"]) + list(rd["packages.conda"])), files
assert seen == {"busybox", "hello", "hello-data"}, seen
hello = [r for r in json.load(open(os.path.join(ch, "noarch", "repodata.json")))["packages"].values() if r["name"] == "hello"][0]
assert hello["noarch"] == "generic" and "hello-data 1.0.*" in hello["depends"], hello
PY

# An @EXPLICIT file of file:// URLs with their sha256, dependencies first.
explicit() {  # explicit EXT
  echo "# platform: linux-64"
  echo "@EXPLICIT"
  local f
  for f in linux-64/busybox-*"$1" noarch/hello-data-*"$1" noarch/hello-1.0-*"$1"; do
    f=$(cd "$TEST_TMP/channel" && echo $f)
    echo "file://$TEST_TMP/channel/$f#$(sha256sum <"$TEST_TMP/channel/$f" | cut -c1-64)"
  done
}
explicit .conda >"$TEST_TMP/conda.txt"
explicit .tar.bz2 >"$TEST_TMP/bz2.txt"
[[ $(grep -c '^file://' "$TEST_TMP/conda.txt") == 3 ]] || die "expected 3 packages in: $(cat "$TEST_TMP/conda.txt")"
diff "$TEST_TMP/conda.txt" "$TEST_TMP/channel/explicit.txt" >&2 || die "the channel's explicit.txt is not the expected lock"

# env install takes the files the @EXPLICIT URLs name (after checking their hashes, as an installer
# of the lock does): into a host prefix, where the script runs.
install_explicit() {  # install_explicit LOCK ARGS...
  local lock=$1 line path hash
  shift
  local -a files=()
  while IFS= read -r line; do
    [[ $line == file://* ]] || continue
    path=${line#file://}
    hash=${path#*#}
    path=${path%%#*}
    [[ $(sha256sum <"$path" | cut -c1-64) == "$hash" ]] || die "$path does not match its sha256 in $lock"
    files+=("$path")
  done <"$lock"
  run_cli env install "$@" "${files[@]}"
}

prefix=$TEST_TMP/env/prefix
install_explicit "$TEST_TMP/conda.txt" --prefix "$prefix" --cache "$TEST_TMP/cache"
out=$("$prefix/bin/hello") || die "the installed hello did not run: $out"
assert_contains "$out" "my environment is $prefix" "hello's output (prefix replaced)"
assert_contains "$out" "hello-data says: Hello from a conda environment" "hello's output (dependency's file)"
head -1 "$prefix/bin/hello" | grep -qx "#!$prefix/bin/sh" || die "shebang not relocated: $(head -1 "$prefix/bin/hello")"
grep -q anaconda1anaconda2 "$prefix/bin/hello" && die "placeholder left in bin/hello"
[[ $(readlink "$prefix/bin/sh") == busybox ]] || die "bin/sh is not a link to busybox"
for rec in busybox hello-data hello-1.0; do
  ls "$prefix/conda-meta/$rec"-*.json >/dev/null 2>&1 || die "no conda-meta record for $rec"
done

# As in an image: both formats lay out the same tree under ROOT/opt/conda.
install_explicit "$TEST_TMP/conda.txt" --root "$TEST_TMP/root-conda" --cache "$TEST_TMP/cache"
install_explicit "$TEST_TMP/bz2.txt" --root "$TEST_TMP/root-bz2" --cache "$TEST_TMP/cache-bz2"
diff -r --no-dereference "$TEST_TMP/root-conda" "$TEST_TMP/root-bz2" >&2 ||
  die ".conda and .tar.bz2 installs differ"
[[ $(head -1 "$TEST_TMP/root-conda/opt/conda/bin/hello") == "#!/opt/conda/bin/sh" ]] ||
  die "image-prefix shebang wrong: $(head -1 "$TEST_TMP/root-conda/opt/conda/bin/hello")"
cmp -s /bin/busybox "$TEST_TMP/root-conda/opt/conda/bin/busybox" || die "bin/busybox is not Debian's busybox"
log "channel built twice identically; installed from @EXPLICIT (.conda and .tar.bz2); hello ran: ${out%%$'\n'*}"
