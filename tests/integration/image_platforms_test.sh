#!/usr/bin/env bash
# Multi-platform images through every image command (issue 13 item 13): a whole index is kept
# unless --platform picks one; edits apply to every platform or to the one picked (the others
# unchanged); a docker-archive from an index needs --platform; inspect and ls say which to pick.
# And `--compression zstd` recompresses gzip layers (same diffID, new digest).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cmd python3
need_cli image copy

cd "$TEST_TMP"
py() { python3 - "$@"; }
# json FILE EXPR: prints EXPR evaluated on the JSON document in FILE (as `d`).
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- fixture: an amd64 + arm64 index, from two single-platform layouts ---------------------------
mkdir -p root
echo amd >root/which
run_cli image add-layer scratch --dir root oci:amd64
echo arm >root/which
run_cli image add-layer scratch --dir root oci:arm64
py amd64 arm64 multi <<'PY'
import hashlib, json, os, shutil, sys
amd, arm, out = sys.argv[1:]
def blob(d, digest): return os.path.join(d, "blobs", "sha256", digest.split(":")[1])
def put(d, data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
os.makedirs(os.path.join(out, "blobs", "sha256"))
entries = []
for src, arch, variant in ((amd, "amd64", ""), (arm, "arm64", "v8")):
    for f in os.listdir(os.path.join(src, "blobs", "sha256")):
        shutil.copy(os.path.join(src, "blobs", "sha256", f), os.path.join(out, "blobs", "sha256", f))
    top = json.load(open(os.path.join(src, "index.json")))["manifests"][0]
    manifest = json.load(open(blob(src, top["digest"])))
    config = json.load(open(blob(src, manifest["config"]["digest"])))
    config["architecture"] = arch
    if variant: config["variant"] = variant
    manifest["config"]["digest"], manifest["config"]["size"] = put(out, json.dumps(config).encode())
    digest, size = put(out, json.dumps(manifest).encode())
    platform = {"architecture": arch, "os": "linux"}
    if variant: platform["variant"] = variant
    entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                    "size": size, "platform": platform})
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
digest, size = put(out, json.dumps(index).encode())
top = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
       "digest": digest, "size": size, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
json.dump(top, open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY

# index_of DIR: the image index index.json names, as a file; platforms DIR: its platforms.
index_of() { local d; d=$(json "$1/index.json" 'd["manifests"][-1]["digest"][7:]'); echo "$1/blobs/sha256/$d"; }
platforms() { json "$(index_of "$1")" '" ".join(m["platform"]["architecture"] for m in d["manifests"])'; }
manifest_of() { # manifest_of DIR ARCH: the manifest digest of ARCH in DIR's index
  json "$(index_of "$1")" "[m['digest'] for m in d['manifests'] if m['platform']['architecture']=='$2'][0]"
}
# expect_fail PATTERN DEST ARGS...: fails (exit 1), stderr matches, DEST absent.
expect_fail() {
  local pattern=$1 dest=$2 rc=0
  shift 2
  "$DE_CLI" "$@" >out.txt 2>err.txt || rc=$?
  assert_eq 1 "$rc" "exit status of docker-envs $*"
  grep -Eq "$pattern" err.txt || die "docker-envs $*: [$(cat err.txt)] does not match /$pattern/"
  [[ -z "$dest" || ! -e "$dest" ]] || die "docker-envs $*: $dest was written"
}
fixture_arm=$(manifest_of multi arm64)
fixture_index=$(json multi/index.json 'd["manifests"][0]["digest"]')

# --- copy keeps the whole index (the bug: it kept one) -------------------------------------------
for dest in oci:copy oci-archive:copy.tar; do
  run_cli image copy oci:multi "$dest"
done
assert_eq "amd64 arm64" "$(platforms copy)" "platforms after copy"
# The manifests as this tool writes them (the fixture's python JSON is spaced differently); a copy
# of the copy keeps them.
amd_manifest=$(manifest_of copy amd64)
arm_manifest=$(manifest_of copy arm64)
run_cli image copy oci:copy oci:copy2
assert_eq "$amd_manifest $arm_manifest" "$(manifest_of copy2 amd64) $(manifest_of copy2 arm64)" "a copy keeps every manifest"
mkdir -p fromtar && tar -xf copy.tar -C fromtar
assert_eq "amd64 arm64" "$(platforms fromtar)" "platforms in the oci-archive"
# An unedited copy keeps the index itself: its bytes (another tool's formatting), so its digest.
for d in copy copy2 fromtar; do
  assert_eq "$fixture_index" "$(json $d/index.json 'd["manifests"][-1]["digest"]')" "$d keeps the index digest"
  cmp -s "$(index_of multi)" "$(index_of $d)" || die "$d: the index bytes changed"
done
assert_eq "$fixture_arm" "$(manifest_of copy arm64)" "a copy keeps the arm64 manifest"
if command -v skopeo >/dev/null; then
  skopeo inspect --raw oci:copy >raw.json || die "skopeo could not read the copied index"
  assert_eq "$fixture_index" "sha256:$(sha256sum <raw.json | cut -d' ' -f1)" "skopeo reads the kept index"
  # And what skopeo copies from ours is readable by us, every platform.
  skopeo copy --all oci:copy oci:skcopy:v1 >/dev/null || die "skopeo could not copy the index"
  "$DE_CLI" image inspect oci:skcopy:v1 >sk.json
  assert_eq "linux/amd64 linux/arm64/v8" "$(json sk.json '" ".join(p["platform"] for p in d["platforms"])')" "skopeo's copy of the index"
  assert_eq "amd64 arm64" "$(json raw.json '" ".join(m["platform"]["architecture"] for m in d["manifests"])')" "skopeo sees both platforms"
  skopeo inspect --override-arch arm64 oci:copy >arm.json || die "skopeo could not pick arm64"
  assert_eq arm64 "$(json arm.json 'd["Architecture"]')" "skopeo picks arm64 from the copy"
fi

# --platform picks one.
run_cli image copy --platform linux/arm64 oci:multi oci:one
if command -v umoci >/dev/null; then
  # umoci (0.4) unpacks one image, not an index (it calls a tag naming an index "ambiguous").
  run_cli image copy --platform linux/arm64 oci:multi:v1 oci:um:v1
  umoci unpack --rootless --image um:v1 bundle >/dev/null 2>&1 || die "umoci could not unpack the picked platform"
  assert_eq arm "$(cat bundle/rootfs/which)" "umoci unpacks the arm64 image"
fi
assert_eq "$arm_manifest" "$(json one/index.json 'd["manifests"][0]["digest"]')" "copy --platform keeps the arm64 manifest"
expect_fail 'no image for platform linux/s390x \(it has: linux/amd64, linux/arm64/v8\)' none \
  image copy --platform linux/s390x oci:multi oci:none

# docker-archive: refused without --platform, naming the platforms; fine with it.
expect_fail 'multi-platform image \(linux/amd64, linux/arm64/v8\).*--platform' x.tar \
  image copy oci:multi docker-archive:x.tar
run_cli image copy --platform linux/arm64/v8 oci:multi docker-archive:arm.tar
tar -xOf arm.tar manifest.json >m.json
tar -xOf arm.tar "$(json m.json 'd[0]["Config"]')" >c.json
assert_eq arm64 "$(json c.json 'd["architecture"]')" "docker-archive holds the arm64 image"

# --- read-only commands: inspect lists the platforms, ls asks for one ----------------------------
"$DE_CLI" image inspect oci:multi >inspect.json
assert_eq "linux/amd64 linux/arm64/v8" "$(json inspect.json '" ".join(p["platform"] for p in d["platforms"])')" "inspect lists the platforms"
assert_contains "$(json inspect.json 'd["note"]')" "--platform" "inspect says how to pick"
assert_eq "$fixture_arm" "$(json inspect.json 'd["platforms"][1]["manifest_digest"]')" "inspect's arm64 manifest"
"$DE_CLI" image inspect --platform linux/arm64 oci:multi >inspect1.json
assert_eq arm64 "$(json inspect1.json 'd["config"]["architecture"]')" "inspect --platform"
expect_fail 'multi-platform image \(linux/amd64, linux/arm64/v8\).*--platform' "" image ls oci:multi
assert_eq "which" "$("$DE_CLI" image ls --platform linux/arm64 oci:multi)" "ls --platform"

# --- edits: every platform, or the one picked ----------------------------------------------------
echo added >added.txt
run_cli image add-layer oci:multi oci:added --file added.txt:/added
assert_eq "amd64 arm64" "$(platforms added)" "platforms after add-layer"
for p in linux/amd64 linux/arm64; do
  assert_eq "added which" "$("$DE_CLI" image ls --platform $p oci:added | tr '\n' ' ' | sed 's/ $//')" "add-layer on $p"
done
run_cli image add-layer --platform linux/arm64 oci:multi oci:added1 --file added.txt:/added
assert_eq "$amd_manifest" "$(manifest_of added1 amd64)" "add-layer --platform leaves amd64 as it was"
# The index is derived again: a new digest, the edited manifest's digest and size, the entries'
# platforms (arm64/v8) kept.
[[ "$(json added1/index.json 'd["manifests"][-1]["digest"]')" != "$fixture_index" ]] || die "an edited index kept its digest"
[[ "$(manifest_of added1 arm64)" != "$fixture_arm" ]] || die "the edited arm64 manifest kept its digest"
json "$(index_of added1)" '"\n".join("%s %s %s" % (m["digest"][7:], m["size"], m["platform"].get("variant", "-")) for m in d["manifests"])' >entries.txt
while read -r digest size variant; do
  assert_eq "$size" "$(stat -c %s added1/blobs/sha256/$digest)" "size of manifest $digest"
  assert_eq "$digest" "$(sha256sum <added1/blobs/sha256/$digest | cut -d' ' -f1)" "digest of manifest $digest"
done <entries.txt
assert_eq "- v8" "$(cut -d' ' -f3 entries.txt | tr '\n' ' ' | sed 's/ $//')" "platforms kept in the derived index"
assert_eq "which" "$("$DE_CLI" image ls --platform linux/amd64 oci:added1)" "amd64 untouched"
assert_eq "added which" "$("$DE_CLI" image ls --platform linux/arm64 oci:added1 | tr '\n' ' ' | sed 's/ $//')" "arm64 edited"
expect_fail 'multi-platform image.*--platform' added.tar image add-layer oci:multi docker-archive:added.tar --file added.txt:/added

run_cli image config oci:multi oci:conf --env A=1
run_cli image config --platform linux/amd64 oci:multi oci:conf1 --env B=2
for p in linux/amd64 linux/arm64; do
  "$DE_CLI" image inspect --platform $p oci:conf >c.json
  assert_contains "$(json c.json 'd["config"]["config"]["Env"]')" "A=1" "config --env on $p"
done
"$DE_CLI" image inspect --platform linux/amd64 oci:conf1 >c.json
assert_contains "$(json c.json 'd["config"]["config"]["Env"]')" "B=2" "config --platform edits amd64"
assert_eq "$arm_manifest" "$(manifest_of conf1 arm64)" "config --platform leaves arm64 as it was"

run_cli image remove-layer oci:multi oci:removed
for p in linux/amd64 linux/arm64; do
  "$DE_CLI" image inspect --platform $p oci:removed >r.json
  assert_eq 0 "$(json r.json 'len(d["layers"])')" "remove-layer on $p"
done
run_cli image remove-layer --platform linux/arm64 oci:multi docker-archive:removed.tar
tar -xOf removed.tar manifest.json >m.json
assert_eq 0 "$(json m.json 'len(d[0]["Layers"])')" "remove-layer --platform to a docker-archive"

# --- --compression zstd recompresses gzip layers: same diffID, new digest ------------------------
"$DE_CLI" image inspect oci:amd64 >gz.json
assert_contains "$(json gz.json 'd["layers"][0]["media_type"]')" "gzip" "fixture layer is gzip"
run_cli image copy --compression zstd oci:amd64 oci:zst
"$DE_CLI" image inspect oci:zst >zst.json
assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$(json zst.json 'd["layers"][0]["media_type"]')" "recompressed media type"
assert_eq "$(json gz.json 'd["layers"][0]["diff_id"]')" "$(json zst.json 'd["layers"][0]["diff_id"]')" "diffID unchanged"
[[ "$(json gz.json 'd["layers"][0]["digest"]')" != "$(json zst.json 'd["layers"][0]["digest"]')" ]] ||
  die "the zstd layer kept the gzip digest"
zst_blob=zst/blobs/sha256/$(json zst.json 'd["layers"][0]["digest"][7:]')
head -c 4 "$zst_blob" | od -An -tx1 | grep -q '28 b5 2f fd' || die "the recompressed blob is not zstd"
assert_eq "which" "$("$DE_CLI" image ls oci:zst)" "the zstd layer lists"
# Without --compression, stored blobs are kept as they are.
run_cli image copy oci:amd64 oci:kept
"$DE_CLI" image inspect oci:kept >kept.json
assert_eq "$(json gz.json 'd["layers"][0]["digest"]')" "$(json kept.json 'd["layers"][0]["digest"]')" "copy keeps the gzip blob"
# And back: zstd to gzip.
run_cli image copy --compression gzip oci:zst oci:regz
"$DE_CLI" image inspect oci:regz >regz.json
assert_contains "$(json regz.json 'd["layers"][0]["media_type"]')" "gzip" "zstd back to gzip"
assert_eq "$(json gz.json 'd["layers"][0]["diff_id"]')" "$(json regz.json 'd["layers"][0]["diff_id"]')" "diffID unchanged (gzip)"
log "ok"
