# Helpers for the `docker-envs build` integration tests (tests/integration/build_*_test.sh).
# Source after lib.sh:
#
#   source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
#
#   need_build                      skip unless `docker-envs build` exists (and the channel tools)
#   make_example_channel DIR        examples/conda-hello's channel (busybox, hello-data, hello) in DIR
#   make_pkg CHANNEL SUBDIR NAME VERSION [DEPEND...]
#                                   a small package (both formats) whose payload is
#                                   share/NAME/{version.txt,data.bin}; PKG_BYTES sets data.bin's size
#                                   (default 2048), PKG_SALT varies its bytes; CONDAPKG_LAST is
#                                   the new package's NAME-VERSION-BUILD
#   explicit_lock CHANNEL_DIR URL_BASE PKGFILE...
#                                   prints an @EXPLICIT lock naming PKGFILEs (paths relative to
#                                   CHANNEL_DIR) as URL_BASE/PKGFILE#sha256, in the order given
#   slow_channel_env BYTES NAME     for the progress tests: a channel with `slow` (BYTES of random,
#                                   incompressible data) and `quick` (depends on slow), served
#                                   trickling 100 KB/s (start_channel_server; channel_server.sh
#                                   must be sourced), and $TEST_TMP/environment.yml named NAME
#                                   asking for quick on scratch
#   inspect REF PYEXPR              evaluates PYEXPR over `image inspect REF` (as `j`)
#   layer_digests REF               the image's layer digests, bottom first, one per line
#   extract_image REF DIR           the merged filesystem of REF in DIR (layers applied in order,
#                                   whiteouts honoured), through `image copy` to a docker-archive
# shellcheck shell=bash

EXAMPLE_DIR=$DE_SOURCE_DIR/examples/conda-hello
# shellcheck source=../../examples/conda-hello/condapkg.sh
source "$EXAMPLE_DIR/condapkg.sh"
# The tests' packages are zstd'ed at level 3, not conda-build's 19: ten times as fast on their
# megabytes of made-up bytes. Not exported: make-channel.sh builds the example as setup does.
CONDAPKG_ZSTD_LEVEL=3

need_build() {
  need_cli build
  need_cmd python3 zstd zip unzip bzip2 tar
}

make_example_channel() {
  file_is_static /bin/busybox || skip "/bin/busybox is not statically linked (install busybox-static)"
  bash "$EXAMPLE_DIR/make-channel.sh" "$1" >"$TEST_TMP/make-channel.log" 2>&1 ||
    { cat "$TEST_TMP/make-channel.log" >&2; die "make-channel.sh failed"; }
}

make_pkg() {
  local channel=$1 subdir=$2 name=$3 version=$4
  shift 4
  local stage
  stage=$(mktemp -d "$TEST_TMP/stage.XXXXXX")
  mkdir -p "$stage/share/$name"
  echo "$name $version" >"$stage/share/$name/version.txt"
  # Bytes that differ per package (and per PKG_SALT).
  { yes "$name $version ${PKG_SALT:-}" || true; } | head -c "${PKG_BYTES:-2048}" >"$stage/share/$name/data.bin"
  condapkg_build "$stage" "$channel" "$subdir" "$name" "$version" 0 "$@" ||
    die "could not make package $name $version"
  rm -rf "$stage"
}

explicit_lock() {
  local dir=$1 base=$2 f
  shift 2
  echo "# platform: linux-64"
  echo "@EXPLICIT"
  for f in "$@"; do
    [[ -f "$dir/$f" ]] || die "explicit_lock: no $dir/$f"
    echo "$base/$f#$(sha256sum <"$dir/$f" | cut -c1-64)"
  done
}

slow_channel_env() {
  local bytes=$1 name=$2 ch=$TEST_TMP/channel stage=$TEST_TMP/slow-stage
  mkdir -p "$stage/share/slow"
  head -c "$bytes" /dev/urandom >"$stage/share/slow/data.bin"
  condapkg_build "$stage" "$ch" noarch slow 1.0 0 || die "could not make the slow package"
  make_pkg "$ch" noarch quick 1.0 "slow"
  condapkg_index "$ch"
  start_channel_server "$ch" --trickle 100000
  cat >"$TEST_TMP/environment.yml" <<YML
name: $name
channels:
  - $CHANNEL_URL
dependencies:
  - quick
image:
  base: scratch
YML
}

inspect() {
  "$DE_CLI" image inspect "$1" >"$TEST_TMP/.inspect.json" 2>"$TEST_TMP/.inspect.err" ||
    { cat "$TEST_TMP/.inspect.err" >&2; die "image inspect $1 failed"; }
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); r=$2
print('\n'.join(map(str, r)) if isinstance(r, list) else r)" "$TEST_TMP/.inspect.json"
}

layer_digests() { inspect "$1" "[l['digest'] for l in j['layers']]"; }

extract_image() {
  local ref=$1 dir=$2 tmp
  tmp=$(mktemp -d "$TEST_TMP/extract.XXXXXX")
  run_cli image copy "$ref" "docker-archive:$tmp/img.tar"
  mkdir -p "$tmp/x" "$dir"
  tar -xf "$tmp/img.tar" -C "$tmp/x"
  python3 - "$tmp/x" "$dir" <<'PY' || die "could not extract $ref"
import json, os, shutil, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(src, "manifest.json")))[0]
for layer in manifest["Layers"]:
    with tarfile.open(os.path.join(src, layer)) as t:
        members = []
        for m in t.getmembers():
            d, base = os.path.split(m.name)
            if base == ".wh..wh..opq":
                p = os.path.join(dst, d)
                for e in os.listdir(p) if os.path.isdir(p) else []:
                    q = os.path.join(p, e)
                    shutil.rmtree(q) if os.path.isdir(q) and not os.path.islink(q) else os.unlink(q)
            elif base.startswith(".wh."):
                q = os.path.join(dst, d, base[4:])
                if os.path.isdir(q) and not os.path.islink(q):
                    shutil.rmtree(q)
                elif os.path.lexists(q):
                    os.unlink(q)
            else:
                q = os.path.join(dst, m.name)
                if os.path.lexists(q) and not (m.isdir() and os.path.isdir(q)):
                    shutil.rmtree(q) if os.path.isdir(q) and not os.path.islink(q) else os.unlink(q)
                members.append(m)
        t.extractall(dst, members=members, numeric_owner=True)
PY
  rm -rf "$tmp"
}
