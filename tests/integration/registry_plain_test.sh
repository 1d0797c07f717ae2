#!/usr/bin/env bash
# image push / image pull against Debian's docker-registry on 127.0.0.1 (plain HTTP, no auth):
# skopeo agrees on what was pushed, a re-push uploads nothing, a push to a second repository
# mounts, a second pull downloads nothing, chunked uploads work, a tampered blob is refused and
# never cached, and (when a Docker engine is available) docker pulls and runs the pushed image.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry python3
need_cli image push

start_registry plain
REG=127.0.0.1:$REG_PORT
export XDG_CACHE_HOME=$TEST_TMP/cache
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A two-layer image of our own (fresh clones have no shared test data).
mkdir -p "$TEST_TMP/root1" "$TEST_TMP/root2"
head -c 2000000 /dev/urandom >"$TEST_TMP/root1/blob.bin"
echo hello >"$TEST_TMP/root2/hello.txt"
run_cli image add-layer scratch --dir "$TEST_TMP/root1" "docker-archive:$TEST_TMP/one.tar:t/one:1"
run_cli image add-layer "$TEST_TMP/one.tar" --dir "$TEST_TMP/root2" "docker-archive:$TEST_TMP/two.tar:t/two:1"

log "push"
"$DE_CLI" image push "$TEST_TMP/two.tar" "docker://$REG/test/app:v1" --json >"$TEST_TMP/push1.json"
pushed=$(json "['manifest_digest']" <"$TEST_TMP/push1.json")
assert_eq 3 "$(json "['blobs_uploaded']" <"$TEST_TMP/push1.json")" "blobs uploaded by the first push"

log "skopeo sees the same manifest and layers"
if command -v skopeo >/dev/null; then
  skopeo inspect --tls-verify=false "docker://$REG/test/app:v1" >"$TEST_TMP/skopeo.json"
  assert_eq "$pushed" "$(json "['Digest']" <"$TEST_TMP/skopeo.json")" "manifest digest (skopeo)"
  skopeo inspect --raw --tls-verify=false "docker://$REG/test/app:v1" >"$TEST_TMP/raw.json"
  ours=$(json "['Layers']" <"$TEST_TMP/skopeo.json")
  raw=$(python3 -c "import json; print([l['digest'] for l in json.load(open('$TEST_TMP/raw.json'))['layers']])")
  assert_eq "$raw" "$ours" "layer digests"
else
  log "skopeo not installed: skipping the agreement check"
fi

log "re-push uploads zero bytes"
"$DE_CLI" image push "$TEST_TMP/two.tar" "docker://$REG/test/app:v1" --json >"$TEST_TMP/push2.json"
assert_eq 0 "$(json "['bytes_uploaded']" <"$TEST_TMP/push2.json")" "bytes uploaded by a re-push"
assert_eq 3 "$(json "['blobs_skipped']" <"$TEST_TMP/push2.json")" "blobs skipped by a re-push"
assert_eq "$pushed" "$(json "['manifest_digest']" <"$TEST_TMP/push2.json")" "re-push manifest digest"

log "push to a second repository mounts"
before=$(grep -c 'POST /v2/test/other/blobs/uploads/?mount=' "$REG_LOG" || true)
"$DE_CLI" image push "$TEST_TMP/two.tar" "docker://$REG/test/other:v1" --json >"$TEST_TMP/push3.json"
assert_eq 0 "$(json "['bytes_uploaded']" <"$TEST_TMP/push3.json")" "bytes uploaded to the second repository"
assert_eq 3 "$(json "['blobs_mounted']" <"$TEST_TMP/push3.json")" "blobs mounted"
after=$(grep -c '"POST /v2/test/other/blobs/uploads/?mount=.* 201 ' "$REG_LOG" || true)
((after - before >= 3)) || die "the registry log shows $((after - before)) mounts, expected 3"

log "pull back: same manifest digest; a second pull downloads nothing"
export XDG_CACHE_HOME=$TEST_TMP/cache-pull
"$DE_CLI" image pull "docker://$REG/test/app:v1" "oci:$TEST_TMP/pulled" --json >"$TEST_TMP/pull1.json"
assert_eq "$pushed" "$(json "['manifest_digest']" <"$TEST_TMP/pull1.json")" "pulled manifest digest"
(($(json "['bytes_downloaded']" <"$TEST_TMP/pull1.json") > 2000000)) || die "first pull downloaded too little"
"$DE_CLI" image pull "$REG/test/app:v1" "docker-archive:$TEST_TMP/pulled.tar:t/two:1" --json >"$TEST_TMP/pull2.json"
assert_eq 0 "$(json "['bytes_downloaded']" <"$TEST_TMP/pull2.json")" "bytes downloaded by the second pull"
# The pulled docker-archive holds the same layers (diffIDs) as the source.
"$DE_CLI" image inspect "$TEST_TMP/two.tar" | json "['config']['rootfs']" >"$TEST_TMP/a"
"$DE_CLI" image inspect "$TEST_TMP/pulled.tar" | json "['config']['rootfs']" >"$TEST_TMP/b"
assert_eq "$(cat "$TEST_TMP/a")" "$(cat "$TEST_TMP/b")" "diffIDs after a round trip"

log "chunked upload (PATCH) from an empty cache"
export XDG_CACHE_HOME=$TEST_TMP/cache-chunked
"$DE_CLI" image push "$TEST_TMP/two.tar" "docker://$REG/test/chunked:v1" --chunk-size 300000 --format oci --json >"$TEST_TMP/push4.json"
assert_eq 3 "$(json "['blobs_uploaded']" <"$TEST_TMP/push4.json")" "blobs uploaded in chunks"
patches=$(grep -c '"PATCH /v2/test/chunked/blobs/uploads/' "$REG_LOG" || true)
((patches >= 7)) || die "expected at least 7 PATCH requests, the log has $patches"
assert_eq "application/vnd.oci.image.manifest.v1+json" "$(json "['media_type']" <"$TEST_TMP/push4.json")" "--format oci"
export XDG_CACHE_HOME=$TEST_TMP/cache-chunked-pull
"$DE_CLI" image pull "docker://$REG/test/chunked:v1" "oci:$TEST_TMP/chunked" --json >"$TEST_TMP/pull3.json"
assert_eq "$(json "['manifest_digest']" <"$TEST_TMP/push4.json")" "$(json "['manifest_digest']" <"$TEST_TMP/pull3.json")" "chunked round trip"

log "a blob whose bytes do not match its digest is refused and not cached"
layer=$(python3 -c "import json; print(json.load(open('$TEST_TMP/raw.json'))['layers'][0]['digest'].split(':')[1])")
data=$TEST_TMP/plain/storage/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
assert_file "$data"
python3 - "$data" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(bytes(b))
PY
export XDG_CACHE_HOME=$TEST_TMP/cache-corrupt
rc=0
"$DE_CLI" image pull "docker://$REG/test/app:v1" "oci:$TEST_TMP/corrupt" 2>"$TEST_TMP/corrupt.err" || rc=$?
assert_eq 1 "$rc" "exit status for a corrupt blob"
assert_contains "$(cat "$TEST_TMP/corrupt.err")" "sha256:$layer" "the error names the blob"
assert_contains "$(cat "$TEST_TMP/corrupt.err")" "nothing was cached" "the error says nothing was cached"
[[ ! -e "$XDG_CACHE_HOME/docker-envs/blobs/sha256/$layer" ]] || die "the corrupt blob was cached"
[[ -z "$(find "$XDG_CACHE_HOME/docker-envs/blobs" -name '.*tmp*')" ]] || die "a temp file was left in the cache"

log "missing image: a clear error"
rc=0
"$DE_CLI" image pull "docker://$REG/test/nope:v1" "oci:$TEST_TMP/nope" 2>"$TEST_TMP/nope.err" || rc=$?
assert_eq 1 "$rc" "exit status for a missing image"
assert_contains "$(cat "$TEST_TMP/nope.err")" "404" "the error has the status"

if [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  log "docker pulls and runs the pushed image"
  make_busybox_rootfs "$TEST_TMP/bb"
  run_cli image add-layer scratch --dir "$TEST_TMP/bb" "docker-archive:$TEST_TMP/bb.tar:t/bb:1"
  run_cli image config "$TEST_TMP/bb.tar" --cmd '["/bin/echo","pushed-and-ran"]' "docker-archive:$TEST_TMP/bb2.tar:t/bb:2"
  run_cli image push "$TEST_TMP/bb2.tar" "docker://$REG/test/busybox:v1"
  # The engine shares this machine's loopback (it runs on the host, not in its own namespace) and
  # treats 127.0.0.0/8 registries as insecure, so it can pull over plain HTTP.
  timeout 120 docker pull "$REG/test/busybox:v1" >/dev/null || die "docker could not pull from $REG"
  out=$(docker run --rm --network none "$REG/test/busybox:v1")
  assert_eq "pushed-and-ran" "$out" "docker run output"
fi
log "ok"
