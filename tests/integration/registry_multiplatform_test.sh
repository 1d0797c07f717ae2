#!/usr/bin/env bash
# Multi-platform: `image push A B REF` pushes both images and an index over them; `image pull
# --platform` picks the one asked for, and a platform the index lacks is a clear error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry python3
need_cli image push

export XDG_CACHE_HOME=$TEST_TMP/cache DOCKER_CONFIG=$TEST_TMP/docker-empty
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
start_registry multi
REG=127.0.0.1:$REG_PORT

mkdir -p "$TEST_TMP/root"
echo amd >"$TEST_TMP/root/which"
run_cli image add-layer scratch --dir "$TEST_TMP/root" "oci:$TEST_TMP/amd64"
echo arm >"$TEST_TMP/root/which"
run_cli image add-layer scratch --dir "$TEST_TMP/root" "oci:$TEST_TMP/arm64"
# Relabel the second layout's config as linux/arm64/v8 (new config blob, manifest and index).
python3 - "$TEST_TMP/arm64" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
def blob(digest): return os.path.join(d, "blobs", "sha256", digest.split(":")[1])
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
index = json.load(open(os.path.join(d, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
config["architecture"], config["variant"] = "arm64", "v8"
manifest["config"]["digest"], manifest["config"]["size"] = put(json.dumps(config, sort_keys=True).encode())
index["manifests"][0]["digest"], index["manifests"][0]["size"] = put(json.dumps(manifest).encode())
json.dump(index, open(os.path.join(d, "index.json"), "w"))
PY

"$DE_CLI" image push "oci:$TEST_TMP/amd64" "oci:$TEST_TMP/arm64" "docker://$REG/multi/app:1" --json >"$TEST_TMP/push.json"
assert_eq "application/vnd.oci.image.index.v1+json" "$(json "['media_type']" <"$TEST_TMP/push.json")" "index media type"
amd=$(json "['manifests'][0]" <"$TEST_TMP/push.json")
arm=$(json "['manifests'][1]" <"$TEST_TMP/push.json")

for p in linux/amd64:$amd linux/arm64:$arm linux/arm64/v8:$arm; do
  platform=${p%%:sha256*}
  want=${p#"$platform":}
  "$DE_CLI" image pull "docker://$REG/multi/app:1" "oci:$TEST_TMP/pulled-${platform//\//-}" --platform "$platform" --json >"$TEST_TMP/pull.json"
  assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "manifest picked for $platform"
  assert_eq "$(json "['manifest_digest']" <"$TEST_TMP/push.json")" "$(json "['index_digest']" <"$TEST_TMP/pull.json")" "index digest"
done

rc=0
"$DE_CLI" image pull "docker://$REG/multi/app:1" "oci:$TEST_TMP/nope" --platform linux/s390x 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "missing platform exit status"
assert_contains "$(cat "$TEST_TMP/err")" "no image for platform linux/s390x (available: linux/amd64, linux/arm64/v8)" "missing platform error"
if command -v skopeo >/dev/null; then
  skopeo inspect --raw --tls-verify=false "docker://$REG/multi/app:1" | json "['manifests'][1]['platform']['architecture']" >"$TEST_TMP/arch"
  assert_eq arm64 "$(cat "$TEST_TMP/arch")" "skopeo sees the arm64 entry"
fi

# Without --platform the whole index is kept (issue 13 item 13): pull, copy from the registry, and a
# push of a multi-platform layout; a docker-archive needs --platform.
index_platforms() { # DIR: the architectures of the index DIR's index.json names
  python3 -c "import json,sys,os; d=sys.argv[1]; t=json.load(open(d+'/index.json'))['manifests'][-1]['digest'][7:]; print(' '.join(m['platform']['architecture'] for m in json.load(open(d+'/blobs/sha256/'+t))['manifests']))" "$1"
}
"$DE_CLI" image pull "docker://$REG/multi/app:1" "oci:$TEST_TMP/whole" --json >"$TEST_TMP/pull.json"
assert_eq "amd64 arm64" "$(index_platforms "$TEST_TMP/whole")" "pull keeps both platforms"
assert_eq "$(json "['manifest_digest']" <"$TEST_TMP/push.json")" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "pulled index digest"
run_cli image copy "docker://$REG/multi/app:1" "oci:$TEST_TMP/copied"
assert_eq "amd64 arm64" "$(index_platforms "$TEST_TMP/copied")" "copy from the registry keeps both platforms"
run_cli image push "oci:$TEST_TMP/whole" "docker://$REG/multi/again:1"
run_cli image pull "docker://$REG/multi/again:1" "oci:$TEST_TMP/again"
assert_eq "amd64 arm64" "$(index_platforms "$TEST_TMP/again")" "push of a multi-platform layout keeps both platforms"
rc=0
"$DE_CLI" image pull "docker://$REG/multi/app:1" "docker-archive:$TEST_TMP/one.tar" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "pull of an index to a docker-archive"
assert_contains "$(cat "$TEST_TMP/err")" "multi-platform image (linux/amd64, linux/arm64/v8)" "docker-archive pull error"
[[ ! -e "$TEST_TMP/one.tar" ]] || die "a docker-archive was written from an index"
run_cli image pull --platform linux/arm64 "docker://$REG/multi/app:1" "docker-archive:$TEST_TMP/one.tar"
log "ok"
