#!/usr/bin/env bash
# Other tools accept what we write, and what we write is reproducible:
#  - our OCI layout passes `skopeo inspect oci:DIR:TAG`, `skopeo copy` into another layout (blobs
#    kept as they are) and `umoci unpack` (which needs the tag's ref.name in index.json);
#  - oci-archive and docker-archive outputs pass `skopeo inspect` too;
#  - writing the same inputs twice (fresh files, new mtimes) gives the same digests, byte for byte.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli image add-layer
need_cli image config
need_cmd skopeo umoci

cd "$TEST_TMP"

# manifest_digest REF: the manifest digest `docker-envs image inspect` reports.
manifest_digest() {
  "$DE_CLI" image inspect "$1" | grep -o '"manifest_digest": *"sha256:[0-9a-f]*"' | grep -o 'sha256:[0-9a-f]*'
}

# make_inputs DIR: the same tree every time, but with fresh files (new inodes and mtimes).
make_inputs() {
  local d=$1
  rm -rf "$d"
  make_busybox_rootfs "$d/busybox"
  mkdir -p "$d/app/lib" "$d/app/share/doc"
  printf 'print("hi")\n' >"$d/app/lib/mod.py"
  printf 'docs\n' >"$d/app/share/doc/README"
  ln -s lib/mod.py "$d/app/entry.py"
  ln "$d/app/share/doc/README" "$d/app/share/doc/README.hardlink"
  printf 'static lib\n' >"$d/app/lib/libx.a"
  chmod 755 "$d/app/lib/mod.py"
}

# build OUTDIR: the same image written as an OCI layout, an oci-archive and a docker-archive.
build() {
  local o=$1 in=$TEST_TMP/inputs
  make_inputs "$in"
  mkdir -p "$o"
  run_cli image add-layer scratch "oci:$o/base:v1" --dir "$in/busybox:/"
  run_cli image add-layer "oci:$o/base:v1" "oci:$o/app:v1" --dir "$in/app:/opt/app" --exclude '*.a'
  run_cli image config "oci:$o/app:v1" "oci:$o/final:v1" \
    --env PATH=/bin --workdir /opt/app --label org.example.test=consumers \
    --entrypoint '["/bin/sh","-c"]' --cmd '["ls"]'
  run_cli image copy "oci:$o/final:v1" "oci-archive:$o/final.oci.tar:v1"
  run_cli image copy "oci:$o/final:v1" "docker-archive:$o/final.docker.tar:consumers:v1"
}

build "$TEST_TMP/a"
sleep 1.1  # the second inputs get other mtimes (clamped by SOURCE_DATE_EPOCH)
build "$TEST_TMP/b"

# --- skopeo inspect ----------------------------------------------------------------------------
for ref in "oci:a/final:v1" "oci-archive:a/final.oci.tar:v1" "docker-archive:a/final.docker.tar"; do
  out=$(skopeo inspect "$ref" 2>&1) || die "skopeo inspect $ref failed: $out"
  assert_contains "$out" '"org.example.test": "consumers"' "skopeo inspect $ref labels"
  log "skopeo inspect $ref: ok"
done
raw=$(skopeo inspect --raw oci:a/final:v1) || die "skopeo inspect --raw failed"
assert_eq "$(manifest_digest oci:a/final:v1)" "sha256:$(printf '%s' "$raw" | openssl dgst -sha256 -r | cut -d' ' -f1)" \
  "manifest digest we report vs digest of the manifest skopeo reads"
config=$(skopeo inspect --config oci:a/final:v1) || die "skopeo inspect --config failed"
assert_contains "$config" '"WorkingDir": "/opt/app"' "config WorkingDir"

# --- skopeo copy into another layout -------------------------------------------------------------
out=$(skopeo copy --quiet oci:a/final:v1 oci:copied:v1 2>&1) || die "skopeo copy failed: $out"
for blob in a/final/blobs/sha256/*; do
  [[ -f "copied/blobs/sha256/$(basename "$blob")" ]] ||
    die "skopeo copy did not keep blob $(basename "$blob") as it is"
done
skopeo inspect oci:copied:v1 >/dev/null || die "skopeo cannot read its own copy"
log "skopeo copy: ok (all blobs kept)"

# --- umoci unpack --------------------------------------------------------------------------------
out=$(umoci unpack --image a/final:v1 bundle 2>&1) || die "umoci unpack failed: $out"
rootfs=bundle/rootfs
assert_file "$rootfs/bin/busybox"
assert_eq "busybox" "$(readlink "$rootfs/bin/sh")" "symlink /bin/sh"
assert_eq "lib/mod.py" "$(readlink "$rootfs/opt/app/entry.py")" "symlink entry.py"
assert_eq "$(stat -c %i "$rootfs/opt/app/share/doc/README")" \
  "$(stat -c %i "$rootfs/opt/app/share/doc/README.hardlink")" "hardlink unpacked as one inode"
[[ ! -e "$rootfs/opt/app/lib/libx.a" ]] || die "--exclude '*.a' did not exclude lib/libx.a"
assert_eq "755" "$(stat -c %a "$rootfs/opt/app/lib/mod.py")" "mode of mod.py"
grep -q '"/opt/app"' bundle/config.json || die "umoci's runtime config lacks the workdir"
log "umoci unpack: ok"

# --- reproducibility -----------------------------------------------------------------------------
for ref in base:v1 app:v1 final:v1; do
  da=$(manifest_digest "oci:a/$ref") db=$(manifest_digest "oci:b/$ref")
  [[ -n "$da" ]] || die "no manifest digest for oci:a/$ref"
  assert_eq "$da" "$db" "manifest digest of $ref written twice"
done
(cd a/final && find blobs -type f | LC_ALL=C sort) >blobs.a
(cd b/final && find blobs -type f | LC_ALL=C sort) >blobs.b
cmp -s blobs.a blobs.b || die "the two layouts hold different blobs: $(diff blobs.a blobs.b | head)"
for f in final.oci.tar final.docker.tar final/index.json; do
  cmp -s "a/$f" "b/$f" || die "$f differs between two writes of the same inputs"
done
log "same inputs twice: identical digests and bytes"
