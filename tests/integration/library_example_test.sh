#!/usr/bin/env bash
# docker-envs as an installed library: `cmake --install` of the build into a temporary prefix,
# examples/library (a separate CMake project, find_package(docker_envs)) configured and built
# against it, then run on a real `docker save` archive: it lists a layer's files, adds a layer
# from a directory (and, in a second run, from a file), removes a layer and writes a
# docker-archive, which the CLI reads back. A tiny program is also compiled and linked with
# `pkg-config --cflags --libs docker_envs` alone.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli
need_cmd cmake pkg-config g++ python3
DE_BUILD_DIR=${DE_BUILD_DIR:-$(dirname "$DE_CLI")}
[[ -f "$DE_BUILD_DIR/CMakeCache.txt" ]] || die "no CMake build at $DE_BUILD_DIR (set DE_BUILD_DIR)"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
prefix=$TEST_TMP/prefix

log "cmake --install into $prefix"
cmake --install "$DE_BUILD_DIR" --prefix "$prefix" >"$TEST_TMP/install.log" ||
  { cat "$TEST_TMP/install.log" >&2; die "cmake --install failed"; }
for f in bin/docker-envs include/docker_envs/oci/image.hpp include/docker_envs/registry/client.hpp \
  lib/cmake/docker_envs/docker_envsConfig.cmake lib/cmake/docker_envs/docker_envsConfigVersion.cmake \
  lib/pkgconfig/docker_envs.pc lib/libdocker_envs_oci.a lib/libdocker_envs_base.a; do
  assert_file "$prefix/$f"
done
# Only public headers: nothing of src/ (ffi wrappers, private module headers) is installed.
extra=$(cd "$prefix/include/docker_envs" && find . -type f ! -name '*.hpp' -o -path './ffi*' | head -3)
assert_eq "" "$extra" "unexpected files under include/docker_envs"
"$prefix/bin/docker-envs" --help >/dev/null || die "the installed docker-envs does not run"

log "build examples/library against the installed package"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$DE_SOURCE_DIR/examples/library" -B "$TEST_TMP/example" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$TEST_TMP/configure.log" 2>&1 ||
  { cat "$TEST_TMP/configure.log" >&2; die "configuring examples/library failed"; }
cmake --build "$TEST_TMP/example" >"$TEST_TMP/build.log" 2>&1 ||
  { cat "$TEST_TMP/build.log" >&2; die "building examples/library failed"; }
edit=$TEST_TMP/example/image-edit
assert_file "$edit"

# The input: a real `docker save` (Docker 18.09, busybox + 13 layers; see PROVENANCE.md), or an
# archive made with the CLI when the shared test data is absent.
src=$DE_TESTDATA_DIR/docker/docker-archive/dive/test-docker-image.tar
if [[ ! -f "$src" ]]; then
  log "shared test data absent: making a three-layer archive with the CLI"
  src=$TEST_TMP/made.tar
  for i in 1 2 3; do
    mkdir -p "$TEST_TMP/made$i/layer$i"
    echo "layer $i" >"$TEST_TMP/made$i/layer$i/file$i"
  done
  run_cli image add-layer scratch --dir "$TEST_TMP/made1" "docker-archive:$TEST_TMP/m1.tar:m:1"
  run_cli image add-layer "$TEST_TMP/m1.tar" --dir "$TEST_TMP/made2" "docker-archive:$TEST_TMP/m2.tar:m:2"
  run_cli image add-layer "$TEST_TMP/m2.tar" --dir "$TEST_TMP/made3" "docker-archive:$src:m:3"
fi
"$DE_CLI" image inspect "$src" >"$TEST_TMP/src.json"
n=$(json "len(d['layers'])" <"$TEST_TMP/src.json")
((n >= 2)) || die "the source archive should have at least two layers, has $n"

log "list layer 1, add a directory layer at /opt/added, remove layer 0"
mkdir -p "$TEST_TMP/add/etc" "$TEST_TMP/add/bin"
echo "hello from the example" >"$TEST_TMP/add/etc/greeting"
printf '#!/bin/sh\necho hi\n' >"$TEST_TMP/add/bin/hi"
chmod 755 "$TEST_TMP/add/bin/hi"
out=$TEST_TMP/out.tar
"$edit" "$src" "$out" --list 1 --add "$TEST_TMP/add:/opt/added" --remove 0 --tag edited:1 \
  >"$TEST_TMP/edit.out" 2>"$TEST_TMP/edit.err" ||
  { cat "$TEST_TMP/edit.out" "$TEST_TMP/edit.err" >&2; die "image-edit failed"; }
cat "$TEST_TMP/edit.out"

# The listed files are the layer's, exactly as the CLI lists them.
sed -n 's/^  //p' "$TEST_TMP/edit.out" >"$TEST_TMP/listed"
"$DE_CLI" image ls --layer 1 --long "$src" >"$TEST_TMP/cli-listed"
[[ -s "$TEST_TMP/listed" ]] || die "image-edit listed no files of layer 1"
diff -u "$TEST_TMP/cli-listed" "$TEST_TMP/listed" || die "image-edit's listing of layer 1 differs from the CLI's"

# The written archive: layers 1..n-1 of the source, then the new one; tagged as asked.
"$DE_CLI" image inspect "docker-archive:$out" >"$TEST_TMP/out.json"
assert_eq "$n" "$(json "len(d['layers'])" <"$TEST_TMP/out.json")" "layer count after +1 -1"
want=$(json "' '.join(l['diff_id'] for l in d['layers'][1:])" <"$TEST_TMP/src.json")
got=$(json "' '.join(l['diff_id'] for l in d['layers'][:-1])" <"$TEST_TMP/out.json")
assert_eq "$want" "$got" "the kept layers"
assert_eq "$(json "d['config']['rootfs']['diff_ids']" <"$TEST_TMP/out.json")" \
  "$(json "[l['diff_id'] for l in d['layers']]" <"$TEST_TMP/out.json")" "config diff_ids"
assert_contains "$(json "d['names']" <"$TEST_TMP/out.json")" "edited:1" "tag"
assert_eq "opt/ opt/added/ opt/added/bin/ opt/added/bin/hi opt/added/etc/ opt/added/etc/greeting" \
  "$("$DE_CLI" image ls --layer $((n - 1)) "$out" | tr '\n' ' ' | sed 's/ $//')" "the added layer"
"$DE_CLI" image ls "$out" | grep -qx 'opt/added/etc/greeting' || die "greeting missing from the merged view"

log "add a single file on top of the written archive"
out2=$TEST_TMP/out2.tar
"$edit" "$out" "$out2" --add "$TEST_TMP/add/etc/greeting:/etc/motd" >"$TEST_TMP/edit2.out" ||
  die "image-edit --add FILE failed"
"$DE_CLI" image inspect "$out2" >"$TEST_TMP/out2.json"
assert_eq $((n + 1)) "$(json "len(d['layers'])" <"$TEST_TMP/out2.json")" "layer count after adding a file"
assert_eq "etc/ etc/motd" "$("$DE_CLI" image ls --layer "$n" "$out2" | tr '\n' ' ' | sed 's/ $//')" \
  "the single-file layer"

log "bad input is refused with a clear error and nothing written"
rc=0
"$edit" "$src" "$TEST_TMP/never.tar" --list 999 2>"$TEST_TMP/err" >/dev/null || rc=$?
assert_eq 1 "$rc" "exit status for --list 999"
assert_contains "$(cat "$TEST_TMP/err")" "--list 999" "error for --list 999"
[[ ! -e "$TEST_TMP/never.tar" ]] || die "a failed run wrote its output"

log "pkg-config: compile and link a program with the flags docker_envs.pc gives"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs docker_envs) || die "pkg-config cannot resolve docker_envs"
cat >"$TEST_TMP/count.cpp" <<'CPP'
#include <cstdio>
#include "docker_envs/oci/image_ref.hpp"
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto ref = de::oci::ImageRef::parse(argv[1]);
  if (!ref) return 3;
  auto image = de::oci::read_image(*ref);
  if (!image) {
    std::fprintf(stderr, "%s\n", image.error().to_string().c_str());
    return 1;
  }
  std::printf("%zu\n", image->layers.size());
}
CPP
# shellcheck disable=SC2086 # pkg-config's output is a list of flags
g++ -std=c++23 -o "$TEST_TMP/count" "$TEST_TMP/count.cpp" $flags 2>"$TEST_TMP/gcc.err" ||
  { cat "$TEST_TMP/gcc.err" >&2; die "compiling with pkg-config's flags failed: $flags"; }
assert_eq "$n" "$("$TEST_TMP/count" "docker-archive:$out")" "layer count read by the pkg-config program"
log "ok"
