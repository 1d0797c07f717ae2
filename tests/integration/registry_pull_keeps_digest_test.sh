#!/usr/bin/env bash
# `image pull` into an OCI layout keeps the registry's manifest and index bytes (Docker media types
# and the registry's formatting included), as crane and containerd do: `repo@sha256:X` pulled is
# sha256:X on disk and `skopeo inspect oci:DIR` agrees. `--format oci` converts; an unedited
# `image copy` (oci -> oci, registry -> registry) keeps the digest; a multi-platform index pulled
# whole (with an attestation-like entry) keeps the index digest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry python3
need_cli image pull

start_registry keep
REG=127.0.0.1:$REG_PORT
export XDG_CACHE_HOME=$TEST_TMP/cache DOCKER_CONFIG=$TEST_TMP/docker-empty
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# reg.py: the few registry calls the test makes itself (plain HTTP on loopback).
cat >"$TEST_TMP/reg.py" <<'PY'
import hashlib, json, sys, urllib.parse, urllib.request
reg, repo, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
base = "http://" + reg
TYPES = ", ".join(["application/vnd.oci.image.index.v1+json",
                   "application/vnd.oci.image.manifest.v1+json",
                   "application/vnd.docker.distribution.manifest.list.v2+json",
                   "application/vnd.docker.distribution.manifest.v2+json"])
def get(ref):
    req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{ref}", headers={"Accept": TYPES})
    with urllib.request.urlopen(req) as r:
        return r.read(), r.headers["Content-Type"]
def put_manifest(ref, body, media_type):
    req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{ref}", data=body, method="PUT",
                                 headers={"Content-Type": media_type})
    urllib.request.urlopen(req).read()
    return "sha256:" + hashlib.sha256(body).hexdigest()
def put_blob(body):
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    req = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
    with urllib.request.urlopen(req) as r:
        loc = urllib.parse.urljoin(base, r.headers["Location"])
    sep = "&" if "?" in loc else "?"
    req = urllib.request.Request(f"{loc}{sep}digest={digest}", data=body, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req).read()
    return {"mediaType": "", "digest": digest, "size": len(body)}
if cmd == "get":  # prints the manifest's digest
    body, _ = get(sys.argv[4])
    print("sha256:" + hashlib.sha256(body).hexdigest())
elif cmd == "pretty":  # re-PUTs the manifest at SRC under TAG, indented as Go's MarshalIndent
    body, media_type = get(sys.argv[4])
    print(put_manifest(sys.argv[5], json.dumps(json.loads(body), indent=3).encode(), media_type))
elif cmd == "list":  # a Docker manifest list over AMD ARM (manifest refs) under TAG
    tag, entries = sys.argv[4], []
    for ref, arch in ((sys.argv[5], "amd64"), (sys.argv[6], "arm64")):
        body, media_type = get(ref)
        entries.append({"mediaType": media_type, "size": len(body),
                        "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                        "platform": {"architecture": arch, "os": "linux"}})
    doc = {"schemaVersion": 2,
           "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
           "manifests": entries}
    if len(sys.argv) > 7:  # plus an attestation manifest (buildkit's shape), OCI index then
        layer = put_blob(b'{"_type":"https://in-toto.io/Statement/v0.1"}')
        layer["mediaType"] = "application/vnd.in-toto+json"
        config = put_blob(b"{}")
        config["mediaType"] = "application/vnd.oci.image.config.v1+json"
        att = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": config, "layers": [layer]}, indent=2).encode()
        att_digest = put_manifest("sha256:" + hashlib.sha256(att).hexdigest(), att,
                                  "application/vnd.oci.image.manifest.v1+json")
        doc["mediaType"] = "application/vnd.oci.image.index.v1+json"
        doc["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                 "digest": att_digest, "size": len(att),
                                 "platform": {"architecture": "unknown", "os": "unknown"},
                                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                                 "vnd.docker.reference.digest": entries[0]["digest"]}})
    print(put_manifest(tag, json.dumps(doc, indent=3).encode(), doc["mediaType"]))
else:
    sys.exit("reg.py: unknown command " + cmd)
PY
reg() { python3 "$TEST_TMP/reg.py" "$REG" "$@"; }

# Every descriptor a layout's index.json reaches has its blob, with the right digest.
check_layout() {
  python3 - "$1" <<'PY' || die "layout $1 is incomplete"
import hashlib, json, os, sys
d = sys.argv[1]
def blob(desc):
    p = os.path.join(d, "blobs", "sha256", desc["digest"].split(":")[1])
    data = open(p, "rb").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == desc["digest"], p
    return data
def walk(desc):
    data = blob(desc)
    if "manifest" in desc["mediaType"] and "list" in desc["mediaType"] or "index" in desc["mediaType"]:
        for m in json.loads(data)["manifests"]:
            walk(m)
    elif "manifest" in desc["mediaType"]:
        m = json.loads(data)
        blob(m["config"])
        for l in m["layers"]:
            blob(l)
for m in json.load(open(os.path.join(d, "index.json")))["manifests"]:
    walk(m)
PY
}

mkdir -p "$TEST_TMP/root1" "$TEST_TMP/root2"
head -c 300000 /dev/urandom >"$TEST_TMP/root1/blob.bin"
echo hello >"$TEST_TMP/root2/hello.txt"
run_cli image add-layer scratch --dir "$TEST_TMP/root1" "docker-archive:$TEST_TMP/one.tar:t/one:1"
run_cli image add-layer "$TEST_TMP/one.tar" --dir "$TEST_TMP/root2" "docker-archive:$TEST_TMP/two.tar:t/two:1"

log "a Docker schema 2 image whose manifest bytes are the registry's own (indented)"
run_cli image push "$TEST_TMP/two.tar" "docker://$REG/test/app:canonical"
X=$(reg test/app pretty canonical pretty)
assert_eq "$X" "$(reg test/app get pretty)" "the registry serves the indented manifest"

log "pull by digest into oci: keeps sha256:X and the Docker media type"
"$DE_CLI" image pull "docker://$REG/test/app@$X" "oci:$TEST_TMP/pulled" --json >"$TEST_TMP/pull.json"
assert_eq "$X" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "manifest digest reported"
assert_eq "$X" "$(json "['manifests'][0]['digest']" <"$TEST_TMP/pulled/index.json")" "index.json digest"
assert_eq "application/vnd.docker.distribution.manifest.v2+json" \
  "$(json "['manifests'][0]['mediaType']" <"$TEST_TMP/pulled/index.json")" "index.json media type"
assert_eq "$X" "$(sha "$TEST_TMP/pulled/blobs/sha256/${X#sha256:}")" "the manifest blob's bytes"
check_layout "$TEST_TMP/pulled"
"$DE_CLI" image inspect "oci:$TEST_TMP/pulled" >/dev/null || die "image inspect cannot read the pulled layout"
if command -v skopeo >/dev/null; then
  skopeo inspect "oci:$TEST_TMP/pulled" >"$TEST_TMP/skopeo.json" || die "skopeo cannot read the layout"
  assert_eq "$X" "$(json "['Digest']" <"$TEST_TMP/skopeo.json")" "digest (skopeo inspect oci:)"
  skopeo inspect --raw "oci:$TEST_TMP/pulled" >"$TEST_TMP/raw"
  assert_eq "$X" "$(sha "$TEST_TMP/raw")" "raw manifest (skopeo inspect --raw oci:)"
else
  log "skopeo not installed: skipping its agreement check"
fi

log "--format oci converts (same config, so the same image ID)"
"$DE_CLI" image pull "docker://$REG/test/app@$X" "oci:$TEST_TMP/converted" --format oci --json >"$TEST_TMP/conv.json"
Y=$(json "['manifest_digest']" <"$TEST_TMP/conv.json")
[[ "$Y" != "$X" ]] || die "--format oci kept the Docker manifest"
assert_eq "application/vnd.oci.image.manifest.v1+json" \
  "$(json "['manifests'][0]['mediaType']" <"$TEST_TMP/converted/index.json")" "converted media type"
config_of() { python3 -c "import json,sys; d=sys.argv[1]; m=json.load(open(d+'/index.json'))['manifests'][0]['digest'].split(':')[1]; print(json.load(open(d+'/blobs/sha256/'+m))['config']['digest'])" "$1"; }
assert_eq "$(config_of "$TEST_TMP/pulled")" "$(config_of "$TEST_TMP/converted")" "config digest after --format oci"

log "unedited copies keep the digest: oci -> oci, oci -> registry, registry -> registry"
run_cli image copy "oci:$TEST_TMP/pulled" "oci:$TEST_TMP/copied"
assert_eq "$X" "$(json "['manifests'][0]['digest']" <"$TEST_TMP/copied/index.json")" "oci -> oci"
run_cli image copy "oci:$TEST_TMP/pulled" "docker://$REG/test/from-layout:1"
assert_eq "$X" "$(reg test/from-layout get 1)" "oci -> registry"
run_cli image copy "docker://$REG/test/app@$X" "docker://$REG/test/copy:1"
assert_eq "$X" "$(reg test/copy get 1)" "registry -> registry"
log "an edit derives a new manifest"
run_cli image config "oci:$TEST_TMP/pulled" --env EDITED=1 "oci:$TEST_TMP/edited"
[[ "$(json "['manifests'][0]['digest']" <"$TEST_TMP/edited/index.json")" != "$X" ]] || die "an edited image kept the source manifest"

log "a multi-platform Docker manifest list pulled whole keeps its digest"
run_cli image add-layer scratch --dir "$TEST_TMP/root2" "oci:$TEST_TMP/amd64"
# The arm64 image: the same layer under a config relabelled linux/arm64.
python3 - "$TEST_TMP/amd64" "$TEST_TMP/arm64" <<'PY'
import hashlib, json, os, shutil, sys
src, d = sys.argv[1], sys.argv[2]
shutil.copytree(src, d)
def blob(digest): return os.path.join(d, "blobs", "sha256", digest.split(":")[1])
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
index = json.load(open(os.path.join(d, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
config["architecture"] = "arm64"
manifest["config"]["digest"], manifest["config"]["size"] = put(json.dumps(config).encode())
index["manifests"][0]["digest"], index["manifests"][0]["size"] = put(json.dumps(manifest).encode())
json.dump(index, open(os.path.join(d, "index.json"), "w"))
PY
run_cli image push "oci:$TEST_TMP/amd64" "docker://$REG/test/multi:amd64" --format docker
run_cli image push "oci:$TEST_TMP/arm64" "docker://$REG/test/multi:arm64" --format docker
L=$(reg test/multi list list amd64 arm64)
"$DE_CLI" image pull "docker://$REG/test/multi@$L" "oci:$TEST_TMP/multi" --json >"$TEST_TMP/multi.json"
assert_eq "$L" "$(json "['manifest_digest']" <"$TEST_TMP/multi.json")" "index digest reported"
assert_eq "$L" "$(json "['manifests'][0]['digest']" <"$TEST_TMP/multi/index.json")" "index.json digest"
assert_eq "application/vnd.docker.distribution.manifest.list.v2+json" \
  "$(json "['manifests'][0]['mediaType']" <"$TEST_TMP/multi/index.json")" "index.json media type"
assert_eq 2 "$(json "['images'].__len__()" <"$TEST_TMP/multi.json")" "images pulled"
check_layout "$TEST_TMP/multi"
assert_eq amd64 "$("$DE_CLI" image inspect "oci:$TEST_TMP/multi" --platform linux/amd64 | json "['config']['architecture']")" "the amd64 image read back"
# Without --platform, inspect names the platforms of the index it reads (issue 13: whole indexes).
platforms=$("$DE_CLI" image inspect "oci:$TEST_TMP/multi" | python3 -c "import json,sys; print(' '.join(p['platform'] for p in json.load(sys.stdin)['platforms']))")
assert_eq "linux/amd64 linux/arm64" "$platforms" "the platforms read back"
if command -v skopeo >/dev/null; then
  skopeo inspect --raw "oci:$TEST_TMP/multi" >"$TEST_TMP/multi.raw"
  assert_eq "$L" "$(sha "$TEST_TMP/multi.raw")" "raw index (skopeo inspect --raw oci:)"
fi

log "an OCI index with an attestation entry pulled whole keeps its digest"
A=$(reg test/multi list attested amd64 arm64 attestation)
"$DE_CLI" image pull "docker://$REG/test/multi:attested" "oci:$TEST_TMP/attested" --json >"$TEST_TMP/att.json"
assert_eq "$A" "$(json "['manifests'][0]['digest']" <"$TEST_TMP/attested/index.json")" "attested index digest"
check_layout "$TEST_TMP/attested"
log "--platform still picks one image (its manifest kept)"
"$DE_CLI" image pull "docker://$REG/test/multi:attested" "oci:$TEST_TMP/one" --platform linux/arm64 --json >"$TEST_TMP/one.json"
assert_eq "$(reg test/multi get arm64)" "$(json "['manifests'][0]['digest']" <"$TEST_TMP/one/index.json")" "picked platform's manifest"
log "ok"
