#!/usr/bin/env bash
# `docker-envs build` for two platforms to every destination that can hold them, on loopback: an
# environment.yml solved for linux-64 and linux-aarch64 against a channel with a `tool` package per
# platform (and a noarch dependency both share) is pushed with `-o docker://` to the test registry
# (docker-registry) as an OCI image index over one image per platform. skopeo reads the index
# (both platforms); `image pull --platform` of each gives that platform's packages (conda-meta
# records with the right subdir); the index is byte-identical to the one `-o oci:` writes; a rebuild
# and re-push uploads no blob (the registry's access log); a docker-archive is refused with the
# alternatives named and nothing written. With a Docker engine, `docker pull` takes the amd64 image
# and `docker pull --platform linux/arm64` the arm64 one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
need_cmd docker-registry
export XDG_CACHE_HOME=$TEST_TMP/cache DOCKER_CONFIG=$TEST_TMP/docker-empty
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

start_registry reg
REG=127.0.0.1:$REG_PORT

log "a channel: tool for linux-64 and for linux-aarch64 (different bytes), tool-data for noarch"
channel=$TEST_TMP/channel
make_pkg "$channel" noarch tool-data 1.0
PKG_SALT=amd64 make_pkg "$channel" linux-64 tool 1.0 "tool-data 1.0.*"
PKG_SALT=arm64 make_pkg "$channel" linux-aarch64 tool 1.0 "tool-data 1.0.*"
condapkg_index "$channel"
cat >"$TEST_TMP/environment.yml" <<YAML
name: multi
channels:
  - $channel
dependencies:
  - tool
image:
  base: scratch
  name: multi:1
  platforms: [linux-64, linux-aarch64]
YAML

log "build -> docker:// (two platforms)"
run_cli build "$TEST_TMP/environment.yml" -o "docker://$REG/multi/env:1" --json >"$TEST_TMP/push.json"
index=$(json "$TEST_TMP/push.json" "j['index_digest']")
assert_eq "$index" "$(json "$TEST_TMP/push.json" "j['manifest_digest']")" "manifest_digest names the index"
assert_eq "application/vnd.oci.image.index.v1+json" "$(json "$TEST_TMP/push.json" "j['push']['media_type']")" \
  "pushed an OCI image index"
amd=$(json "$TEST_TMP/push.json" "j['images'][0]['manifest_digest']")
arm=$(json "$TEST_TMP/push.json" "j['images'][1]['manifest_digest']")
assert_eq "linux/amd64 linux/arm64/v8" \
  "$(json "$TEST_TMP/push.json" "' '.join(i['image_platform'] for i in j['images'])")" "image platforms"
[[ $amd != "$arm" && $amd == sha256:* && $arm == sha256:* ]] || die "platform manifests: $amd $arm"
# Each platform: its tool layer, the tool-data layer (the same blob for both), the final layer and
# a config; the shared layer is sent once and found by HEAD for the second platform.
shared=$(json "$TEST_TMP/push.json" "' '.join(i['layers'][0]['digest'] for i in j['images'])")
[[ ${shared% *} == "${shared#* }" ]] || die "the noarch layer differs between platforms: $shared"
uploaded=$(json "$TEST_TMP/push.json" "j['push']['blobs_uploaded']")
assert_eq 7 "$uploaded" "blobs uploaded"
assert_eq 1 "$(json "$TEST_TMP/push.json" "j['push']['blobs_skipped']")" "blobs skipped (the shared layer)"

if command -v skopeo >/dev/null; then
  log "skopeo inspect --raw: an index with both platforms"
  skopeo inspect --raw --tls-verify=false "docker://$REG/multi/env:1" >"$TEST_TMP/raw.json" ||
    die "skopeo could not read the index"
  assert_eq "$index" "sha256:$(sha256sum <"$TEST_TMP/raw.json" | cut -c1-64)" "index digest (skopeo)"
  assert_eq "application/vnd.oci.image.index.v1+json" "$(json "$TEST_TMP/raw.json" "j['mediaType']")" \
    "index media type (skopeo)"
  assert_eq "linux/amd64/-:$amd linux/arm64/v8:$arm" "$(json "$TEST_TMP/raw.json" \
    "' '.join('{os}/{architecture}/{v}:{d}'.format(v=m['platform'].get('variant', '-'), d=m['digest'], **m['platform']) for m in j['manifests'])")" \
    "index entries (skopeo)"
fi

for p in linux/amd64:linux-64 linux/arm64:linux-aarch64; do
  platform=${p%%:*} subdir=${p#*:}
  log "image pull --platform $platform: $subdir's packages"
  run_cli image pull "docker://$REG/multi/env:1" "oci:$TEST_TMP/pulled-$subdir:1" --platform "$platform" \
    --json >"$TEST_TMP/pull.json"
  assert_eq "$index" "$(json "$TEST_TMP/pull.json" "j['index_digest']")" "index pulled for $platform"
  extract_image "oci:$TEST_TMP/pulled-$subdir:1" "$TEST_TMP/root-$subdir"
  meta=$TEST_TMP/root-$subdir/opt/conda/conda-meta
  subdirs=$(python3 -c "import glob,json,sys; print(' '.join(sorted(json.load(open(f))['name'] + '=' + json.load(open(f))['subdir'] for f in glob.glob(sys.argv[1] + '/*.json'))))" "$meta")
  assert_eq "tool-data=noarch tool=$subdir" "$subdirs" "conda-meta records for $platform"
  salt=${platform#linux/}
  grep -q "tool 1.0 $salt" "$TEST_TMP/root-$subdir/opt/conda/share/tool/data.bin" ||
    die "share/tool/data.bin is not $subdir's"
done

log "-o oci: writes the same index, byte for byte"
run_cli build "$TEST_TMP/environment.yml" -o "oci:$TEST_TMP/layout:1" --json >"$TEST_TMP/layout.json"
assert_eq "$index" "$(json "$TEST_TMP/layout.json" "j['index_digest']")" "index digest (oci: vs docker://)"
assert_eq "$amd $arm" "$(json "$TEST_TMP/layout.json" "' '.join(i['manifest_digest'] for i in j['images'])")" \
  "platform manifests (oci: vs docker://)"

log "rebuild + re-push: no blob uploaded"
blob_puts() { grep -c '"PUT /v2/multi/env/blobs/uploads/' "$REG_LOG" || true; }
before=$(blob_puts)
((before == uploaded)) || die "the registry log shows $before blob PUT(s), the build said $uploaded"
run_cli build "$TEST_TMP/environment.yml" -o "docker://$REG/multi/env:1" --json >"$TEST_TMP/again.json"
assert_eq "$index" "$(json "$TEST_TMP/again.json" "j['index_digest']")" "index digest of the rebuild"
assert_eq 0 "$(json "$TEST_TMP/again.json" "j['push']['blobs_uploaded']")" "blobs uploaded by the re-push"
assert_eq "$before" "$(blob_puts)" "blob PUTs in the registry log after the re-push"

log "docker-archive: refused, with the alternatives, nothing written"
rc=0
"$DE_CLI" build "$TEST_TMP/environment.yml" -o "docker-archive:$TEST_TMP/multi.tar" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status of a multi-platform docker-archive"
for want in "oci-archive:PATH" "-o docker://REF" "--platform linux-64"; do
  assert_contains "$(cat "$TEST_TMP/err")" "$want" "the refusal names the alternatives"
done
[[ ! -e "$TEST_TMP/multi.tar" ]] || die "a refused docker-archive was written"

if ! { [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }; then
  log "no Docker engine: pushed, inspected and pulled back, not pulled by docker"
  exit 0
fi
log "docker pull picks the amd64 image from the index"
on_exit "docker rmi -f $REG/multi/env:1 >/dev/null 2>&1"
docker pull "$REG/multi/env:1" >/dev/null || die "docker pull of the index failed"
# The second pull below moves the tag: remove this image by its ID too.
on_exit "docker rmi -f $(docker image inspect --format '{{.Id}}' "$REG/multi/env:1") >/dev/null 2>&1"
assert_eq "amd64" "$(docker image inspect --format '{{.Architecture}}' "$REG/multi/env:1")" \
  "architecture docker pulled"
assert_contains "$(docker image inspect --format '{{json .RepoDigests}}' "$REG/multi/env:1")" "$index" \
  "docker's repo digest is the index"
log "docker pull --platform linux/arm64 takes the arm64 one"
docker pull --platform linux/arm64 "$REG/multi/env:1" >/dev/null || die "docker pull --platform linux/arm64 failed"
assert_eq "arm64" "$(docker image inspect --format '{{.Architecture}}' "$REG/multi/env:1")" \
  "architecture docker pulled for linux/arm64"
log "ok"
