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

# --- registry to registry: the whole index, its digest and every platform's blobs ---------------
src_index=$(json "['manifest_digest']" <"$TEST_TMP/push.json")
top_digest() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]+'/index.json'))['manifests'][-1]['digest'])" "$1"; }
assert_eq "$src_index" "$(top_digest "$TEST_TMP/copied")" "copy docker:// to oci: keeps the index digest"
# fresh_pull REF DIR: pulls with an empty blob cache, so every blob comes from the registry.
fresh_pull() {
  rm -rf "$TEST_TMP/fresh-cache"
  XDG_CACHE_HOME=$TEST_TMP/fresh-cache "$DE_CLI" image pull "$@" >/dev/null 2>"$TEST_TMP/err" ||
    die "pull $*: $(cat "$TEST_TMP/err")"
}
"$DE_CLI" image push "docker://$REG/multi/app:1" "docker://$REG/multi/mirror:1" --json >"$TEST_TMP/mirror.json"
assert_eq "$src_index" "$(json "['manifest_digest']" <"$TEST_TMP/mirror.json")" "push from docker:// keeps the index digest"
fresh_pull "docker://$REG/multi/mirror:1" "oci:$TEST_TMP/mirror"
assert_eq "amd64 arm64" "$(index_platforms "$TEST_TMP/mirror")" "push from docker:// keeps both platforms"
run_cli image copy "docker://$REG/multi/app:1" "docker://$REG/multi/copy:1"
fresh_pull "docker://$REG/multi/copy:1" "oci:$TEST_TMP/copy-pulled"
assert_eq "$src_index" "$(top_digest "$TEST_TMP/copy-pulled")" "copy docker:// to docker:// keeps the index digest"
# A docker-archive holds one image: a copy of the index needs --platform, named in the error.
rc=0
"$DE_CLI" image copy "docker://$REG/multi/app:1" "docker-archive:$TEST_TMP/copy.tar" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "copy of an index to a docker-archive"
assert_contains "$(cat "$TEST_TMP/err")" "multi-platform image (linux/amd64, linux/arm64/v8)" "docker-archive copy error"
[[ ! -e "$TEST_TMP/copy.tar" ]] || die "a docker-archive was written from an index"
run_cli image copy --platform linux/arm64 "docker://$REG/multi/app:1" "docker-archive:$TEST_TMP/copy.tar"
tar -xOf "$TEST_TMP/copy.tar" manifest.json >"$TEST_TMP/m.json"
assert_contains "$(json "[0]['RepoTags']" <"$TEST_TMP/m.json")" "multi/app:1" "the picked image keeps its name"
if command -v skopeo >/dev/null; then
  for repo in mirror copy; do
    skopeo copy --all --src-tls-verify=false "docker://$REG/multi/$repo:1" "oci:$TEST_TMP/sk-$repo:1" >/dev/null ||
      die "skopeo could not copy every platform of multi/$repo"
  done
fi

# --- --compression on push recompresses; Docker manifests cannot hold zstd -----------------------
layer_type() { # DIR ARCH: media type of the first layer of ARCH's image in the layout DIR
  "$DE_CLI" image inspect --platform "linux/$2" "oci:$1" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['layers'][0]['media_type'])"
}
gzip_layer=$("$DE_CLI" image inspect "oci:$TEST_TMP/amd64" | json "['layers'][0]['digest']")
run_cli image push --compression zstd "oci:$TEST_TMP/amd64" "docker://$REG/multi/zst:1"
fresh_pull --platform linux/amd64 "docker://$REG/multi/zst:1" "oci:$TEST_TMP/zst"
assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(layer_type "$TEST_TMP/zst" amd64)" "push --compression zstd"
[[ "$("$DE_CLI" image inspect "oci:$TEST_TMP/zst" | json "['layers'][0]['digest']")" != "$gzip_layer" ]] ||
  die "push --compression zstd kept the gzip blob"
run_cli image push --compression zstd "docker://$REG/multi/app:1" "docker://$REG/multi/zst-all:1"
fresh_pull "docker://$REG/multi/zst-all:1" "oci:$TEST_TMP/zst-all"
for arch in amd64 arm64; do
  assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(layer_type "$TEST_TMP/zst-all" $arch)" "push --compression zstd from docker:// ($arch)"
done
run_cli image copy --compression zstd "oci:$TEST_TMP/amd64" "docker://$REG/multi/zcopy:1"
fresh_pull "docker://$REG/multi/zcopy:1" "oci:$TEST_TMP/zcopy"
assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(layer_type "$TEST_TMP/zcopy" amd64)" "copy --compression zstd to docker://"
for source in "oci:$TEST_TMP/amd64" "oci:$TEST_TMP/zst"; do
  args=(--format docker)
  [[ "$source" == *amd64 ]] && args+=(--compression zstd)
  rc=0
  "$DE_CLI" image push "${args[@]}" "$source" "docker://$REG/multi/docker-zstd:1" 2>"$TEST_TMP/err" || rc=$?
  assert_eq 1 "$rc" "push ${args[*]} of $source"
  assert_contains "$(cat "$TEST_TMP/err")" "Docker schema 2 manifests" "push ${args[*]} refusal"
  assert_contains "$(cat "$TEST_TMP/err")" "zstd" "push ${args[*]} refusal names zstd"
done
rc=0
XDG_CACHE_HOME=$TEST_TMP/fresh-cache "$DE_CLI" image pull "docker://$REG/multi/docker-zstd:1" "oci:$TEST_TMP/nothing" 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || die "a refused push left a manifest behind"
log "ok"
