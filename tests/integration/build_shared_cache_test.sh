#!/usr/bin/env bash
# The registry as the shared build cache (issue 16 item 1): machine A builds and pushes with
# --cache-to; machine B, with an empty cache directory and --cache-from, builds the same
# environment without downloading a package, pushes it with mounts from the cache (nothing but the
# config and manifest uploaded) under A's manifest digest, and writes a docker-archive with A's
# bytes. A changed package reuses the unchanged layers from the cache. A cache out of reach, a tag
# holding an image, or no cache yet is a warning; a malformed cache reference is an error.
# "Machines" are cache directories (--cache-dir, XDG_CACHE_HOME) that share nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
need_cmd docker-registry
cd "$TEST_TMP"

log "a channel of 4 packages (random bytes), served over HTTP; a registry"
channel=$TEST_TMP/channel
pkg() { # pkg NAME VERSION
  local stage
  stage=$(mktemp -d "$TEST_TMP/stage.XXXXXX")
  mkdir -p "$stage/share/$1"
  head -c $((256 << 10)) /dev/urandom >"$stage/share/$1/data.bin"
  echo "$1 $2" >"$stage/share/$1/version.txt"
  CONDAPKG_FORMATS=conda condapkg_build "$stage" "$channel" linux-64 "$1" "$2" 0 >/dev/null ||
    die "could not make package $1 $2"
  rm -rf "$stage"
}
for n in a b c d; do pkg "pkg-$n" 1.0; done
pkg pkg-d 2.0
condapkg_index "$channel" >/dev/null
start_channel_server "$channel"
(cd "$channel" && explicit_lock "$channel" "$CHANNEL_URL" linux-64/pkg-{a,b,c}-1.0-*.conda linux-64/pkg-d-1.0-*.conda) >lock1.txt
(cd "$channel" && explicit_lock "$channel" "$CHANNEL_URL" linux-64/pkg-{a,b,c}-1.0-*.conda linux-64/pkg-d-2.0-*.conda) >lock2.txt
start_registry reg
REG=127.0.0.1:$REG_PORT
CACHE=docker://$REG/cache/env:main

# on MACHINE ARGS...: docker-envs with MACHINE's own cache directory.
on() {
  local m=$1
  shift
  XDG_CACHE_HOME=$TEST_TMP/$m/xdg "$DE_CLI" "$@" --cache-dir "$TEST_TMP/$m/cache"
}
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
package_gets() { channel_requests 'GET /linux-64/pkg-.*\.conda 200'; }

log "machine A: build, push, --cache-to"
on A build lock1.txt --base scratch -o "docker://$REG/app/a:1" --cache-to "$CACHE" --json >a.json 2>a.err ||
  die "A's build failed: $(cat a.err)"
assert_eq "$(json a.json "j['packages_downloaded']")" 4 "A downloads every package"
assert_eq "$(json a.json "j['shared_cache']['to'][0]['error']")" None "A's cache push: $(cat a.err)"
assert_eq "$(json a.json "j['shared_cache']['to'][0]['images']")" 1 "images in the cache"
a_digest=$(json a.json "j['manifest_digest']")
layers=$(json a.json "len(j['layers'])")
cache_manifest=$(skopeo inspect --tls-verify=false --raw "docker://$REG/cache/env:main")
python3 - "$cache_manifest" <<'PY' || die "the cache is not the documented artifact: $cache_manifest"
import json, sys
m = json.loads(sys.argv[1])
assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json", m
assert m["artifactType"] == "application/vnd.docker-envs.build-cache.v1", m
assert m["config"]["mediaType"] == "application/vnd.docker-envs.build-cache.config.v1+json", m
kinds = {l["mediaType"].split("+")[0] for l in m["layers"]}
assert kinds == {"application/vnd.oci.image.layer.v1.tar", "application/vnd.docker-envs.package-plans.v1"}, kinds
# The plans of one push go up as one blob, not one each.
assert sum(l["mediaType"].startswith("application/vnd.docker-envs.package-plans.v1") for l in m["layers"]) == 1, m
PY

log "machine B: empty cache, --cache-from, push to another repository: mounts, no package"
gets_before=$(package_gets)
uploads_before=$(grep -c 'PUT /v2/app/b/blobs/uploads' "$REG_LOG" || true)
on B build lock1.txt --base scratch -o "docker://$REG/app/b:1" --cache-from "$CACHE" --json >b.json 2>b.err ||
  die "B's build failed: $(cat b.err)"
assert_eq "$(json b.json "j['packages_downloaded']")" 0 "B downloads no package"
assert_eq "$(package_gets)" "$gets_before" "no package request reached the channel from B"
assert_eq "$(json b.json "j['image_memo']['hit']")" True "B's whole-image hit"
assert_eq "$(json b.json "j['image_memo']['from']")" "$CACHE" "the hit came from the shared cache"
assert_eq "$(json b.json "j['manifest_digest']")" "$a_digest" "B's image is A's"
assert_eq "$(json b.json "j['push']['blobs_mounted']")" "$layers" "every layer mounted from the cache"
(($(json b.json "j['push']['bytes_uploaded']") < 65536)) || die "B uploaded $(json b.json "j['push']['bytes_uploaded']") bytes"
grep -q "POST /v2/app/b/blobs/uploads/?mount=sha256:[0-9a-f]*&from=cache%2Fenv" "$REG_LOG" ||
  die "the registry saw no mount from the cache"
assert_eq "$(($(grep -c 'PUT /v2/app/b/blobs/uploads' "$REG_LOG" || true) - uploads_before))" 1 \
  "one blob uploaded by B (the config)"

log "docker-archive (uncompressed layers: other layer keys): A adds it to the cache, B (empty cache) writes A's bytes"
on A build lock1.txt --base scratch -o "docker-archive:$TEST_TMP/a.tar" --cache-to "$CACHE" >/dev/null 2>&1 || die "A's archive"
on B2 build lock1.txt --base scratch -o "docker-archive:$TEST_TMP/b.tar" --cache-from "$CACHE" --json >b2.json 2>b2.err ||
  die "B2's build failed: $(cat b2.err)"
assert_eq "$(json b2.json "j['packages_downloaded']")" 0 "B2 downloads no package"
cmp -s a.tar b.tar || die "B's docker-archive differs from A's"
log "B2 again, without --cache-from: its local memo and layer cache now hold it"
on B2 build lock1.txt --base scratch -o "docker-archive:$TEST_TMP/b-again.tar" --json >b3.json 2>/dev/null || die "B2 again"
assert_eq "$(json b3.json "j['image_memo']['from']")" local "local hit after the shared one"
cmp -s a.tar b-again.tar || die "B2's second archive differs"

log "one package changed: only that package is fetched; the other layers come from the cache"
gets_before=$(package_gets)
bundle=$(skopeo inspect --tls-verify=false --raw "docker://$REG/cache/env:main" | python3 -c '
import json, sys
print(next(l["digest"] for l in json.load(sys.stdin)["layers"] if "package-plans" in l["mediaType"]))')
bundle_gets_before=$(grep -c "GET /v2/cache/env/blobs/$bundle" "$REG_LOG" || true)
on C build lock2.txt --base scratch -o "oci:$TEST_TMP/c:1" --cache-from "$CACHE" --json >c.json 2>c.err ||
  die "C's build failed: $(cat c.err)"
assert_eq "$(json c.json "j['image_memo']['hit']")" False "a changed package is no whole-image hit"
assert_eq "$(json c.json "j['packages_downloaded']") $(json c.json "j['packages_not_fetched']")" "1 3" \
  "only the changed package downloaded; the others planned from the cache"
assert_eq "$(json c.json "j['packages_planned']")" 1 \
  "only the changed package's entries read: the other layers found by the group memos A pushed"
assert_eq "$(($(package_gets) - gets_before))" 1 "one package request reached the channel"
channel_requests 'GET /linux-64/pkg-d-2.0-.*\.conda 200' | grep -qx 1 || die "the changed package was not the one fetched"
assert_eq "$(($(grep -c "GET /v2/cache/env/blobs/$bundle" "$REG_LOG" || true) - bundle_gets_before))" 1 \
  "the three plans came in one request (the bundle A pushed)"
assert_eq "$(json c.json "sorted(l['label'] for l in j['layers'] if l['shared_cache'])")" \
  "$(printf "['%s', '%s', '%s']" $(cd "$channel/linux-64" && ls pkg-[abc]-1.0-*.conda | sed 's/\.conda$//'))" "unchanged layers from the shared cache"
assert_eq "$(json c.json "sorted(l['label'] for l in j['layers'] if not l['reused'])")" \
  "['environment files (conda-meta/history)', '$(cd "$channel/linux-64" && ls pkg-d-2.0-*.conda | sed 's/\.conda$//')']" "built: the changed package's layer and the final one"
on A build lock2.txt --base scratch -o "oci:$TEST_TMP/a2:1" --json >a2.json 2>/dev/null || die "A's lock2"
assert_eq "$(json c.json "j['manifest_digest']")" "$(json a2.json "j['manifest_digest']")" "same image as without the cache"

log "--cache-to adds to what is there and uploads only what the registry lacks"
on C build lock2.txt --base scratch -o "oci:$TEST_TMP/c:1" --cache-from "$CACHE" --cache-to "$CACHE" --json >c2.json 2>c2.err ||
  die "C's cache push failed: $(cat c2.err)"
assert_eq "$(json c2.json "j['shared_cache']['to'][0]['error']")" None "C's cache push: $(cat c2.err)"
assert_eq "$(json c2.json "j['shared_cache']['to'][0]['images']")" 3 "the three images in the cache"
# C's earlier build (a --cache-from hit on three plans) exported none: the changed package's plan
# goes up now, so C plans instead of taking its whole-image hit.
assert_eq "$(json c2.json "j['image_memo']['hit']")" False "the cache lacked pkg-d 2.0's plan"
assert_eq "$(json c2.json "j['shared_cache']['to'][0]['blobs_uploaded']")" 4 \
  "uploaded: the two new layers, the new plan (a bundle of one) and the new index"
on D build lock2.txt --base scratch -o "oci:$TEST_TMP/d:1" --cache-from "$CACHE" --json >d.json 2>/dev/null || die "D"
assert_eq "$(json d.json "j['image_memo']['hit']") $(json d.json "j['packages_downloaded']")" "True 0" \
  "the second image is a whole-image hit too"

log "an oci: directory as the cache (a shared file system)"
on A build lock1.txt --base scratch -o "oci:$TEST_TMP/a-oci:1" --cache-to "oci:$TEST_TMP/shared-dir:env" --json >ao.json 2>ao.err ||
  die "A's oci: cache failed: $(cat ao.err)"
assert_eq "$(json ao.json "j['shared_cache']['to'][0]['error']")" None "A's oci: cache: $(cat ao.err)"
# A has built lock1 before (a whole-image hit), but the new cache lacks its plans: A plans to
# export them, once.
assert_eq "$(json ao.json "j['image_memo']['hit']")" False "a hit is not taken while the target lacks plans"
assert_contains "$(json ao.json "j['image_memo']['why_not']")" "package plan(s) to export to the --cache-to cache(s)" "why the hit was not taken"
on A build lock1.txt --base scratch -o "oci:$TEST_TMP/a-oci2:1" --cache-to "oci:$TEST_TMP/shared-dir:env" --json >ao2.json 2>ao2.err ||
  die "A's second oci: cache push failed: $(cat ao2.err)"
assert_eq "$(json ao2.json "j['image_memo']['hit']")" True "the target holds the plans now: a whole-image hit"
skopeo inspect --raw "oci:$TEST_TMP/shared-dir:env" | grep -q '"artifactType":"application/vnd.docker-envs.build-cache.v1"' ||
  die "skopeo does not read the oci: cache as the artifact"
on F build lock1.txt --base scratch -o "oci:$TEST_TMP/f:1" --cache-from "oci:$TEST_TMP/shared-dir:env" --json >f.json 2>f.err ||
  die "F's build failed: $(cat f.err)"
assert_eq "$(json f.json "j['image_memo']['hit']") $(json f.json "j['packages_downloaded']")" "True 0" "a hit from the oci: cache"
assert_eq "$(json f.json "j['manifest_digest']")" "$(json ao.json "j['manifest_digest']")" "F's image is A's"

log "a plan bundle that does not verify: those packages are fetched instead, the image is the same"
bundle=$(python3 -c '
import json, sys
d = sys.argv[1]
index = json.load(open(d + "/index.json"))
manifest = json.load(open(d + "/blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
print(next(l["digest"] for l in manifest["layers"] if "package-plans" in l["mediaType"]).split(":")[1])' "$TEST_TMP/shared-dir")
chmod u+w "$TEST_TMP/shared-dir/blobs/sha256/$bundle"
printf 'not the plans' >"$TEST_TMP/shared-dir/blobs/sha256/$bundle"
on G2 build lock2.txt --base scratch -o "oci:$TEST_TMP/g2:1" --cache-from "oci:$TEST_TMP/shared-dir:env" --json >g2.json 2>g2.err ||
  die "G2's build failed: $(cat g2.err)"
assert_eq "$(json g2.json "j['packages_downloaded']") $(json g2.json "j['packages_not_fetched']")" "4 0" \
  "every package fetched: three because their plans did not verify"
assert_contains "$(cat g2.err)" "3 package(s) (their shared plans could not be read)" "the unread plans' packages fetched"
assert_eq "$(json g2.json "j['manifest_digest']")" "$(json a2.json "j['manifest_digest']")" "G2's image is A's"

log "a cache that cannot be used is a warning, never a failure"
dead=$(free_port)
on E build lock1.txt --base scratch -o "oci:$TEST_TMP/e:1" --cache-from "docker://127.0.0.1:$dead/x/y:z" \
  --cache-from "docker://$REG/app/a:1" --cache-from "docker://$REG/cache/none:yet" --json >e.json 2>e.err ||
  die "a build with unusable caches failed: $(cat e.err)"
assert_eq "$(json e.json "j['manifest_digest']")" "$a_digest" "the build ran without the caches"
assert_eq "$(json e.json "[c['error'] is None for c in j['shared_cache']['from']]")" "[False, False, False]" "three caches not used"
assert_contains "$(cat e.err)" "not used" "a warning names the unusable cache"
assert_contains "$(json e.json "j['shared_cache']['from'][1]['error']")" "not an artifact" "an image is not a cache"
on E build lock1.txt --base scratch -o "oci:$TEST_TMP/e2:1" --cache-to "docker://$REG/app/a:1" --json >e2.json 2>e2.err ||
  die "a build whose --cache-to names an image failed: $(cat e2.err)"
assert_contains "$(json e2.json "j['shared_cache']['to'][0]['error']")" "not an artifact" "an image is never overwritten by a cache"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REG/app/a:1" | sha256sum | cut -c1-64)" "${a_digest#sha256:}" \
  "app/a:1 is still A's image"
if on E build lock1.txt --base scratch -o "oci:$TEST_TMP/e3:1" --cache-from "cache/env" >e3.out 2>&1; then
  die "a malformed cache reference was accepted"
fi
assert_contains "$(cat e3.out)" "docker://REGISTRY/REPOSITORY:TAG or oci:DIR" "the error says what a cache reference is"
if on E build lock1.txt --base scratch -o "oci:$TEST_TMP/e4:1" --offline --cache-from "$CACHE" >e4.out 2>&1; then
  die "--offline with a registry cache was accepted"
fi
assert_contains "$(cat e4.out)" "--offline: the shared cache" "--offline refuses a registry cache"
[[ ! -e "$TEST_TMP/e4" ]] || die "the refused build wrote its destination"
log "a cache behind basic auth: the credentials of every registry call; never in the output or the cache"
if command -v htpasswd >/dev/null; then
  secret="s3cret-$RANDOM$RANDOM"
  htpasswd -Bbc "$TEST_TMP/htpasswd" alice "$secret" >/dev/null 2>&1
  REG_SAVED=$REG_PORT
  start_registry authreg --htpasswd "$TEST_TMP/htpasswd"
  AUTH=docker://127.0.0.1:$REG_PORT/cache/env:main
  on G build lock1.txt --base scratch -o "oci:$TEST_TMP/g:1" --cache-to "$AUTH" --creds "alice:$secret" --json >g.json 2>g.err ||
    die "G's build failed: $(cat g.err)"
  assert_eq "$(json g.json "j['shared_cache']['to'][0]['error']")" None "the cache push with credentials: $(cat g.err)"
  on H build lock1.txt --base scratch -o "oci:$TEST_TMP/h:1" --cache-from "$AUTH" --json >h.json 2>h.err ||
    die "H's build failed: $(cat h.err)"
  assert_contains "$(json h.json "j['shared_cache']['from'][0]['error']")" "credentials" "no credentials: the cache is a warning"
  on H2 build lock1.txt --base scratch -o "oci:$TEST_TMP/h2:1" --cache-from "$AUTH" --creds "alice:$secret" --json >h2.json 2>h2.err ||
    die "H2's build failed: $(cat h2.err)"
  assert_eq "$(json h2.json "j['image_memo']['hit']") $(json h2.json "j['packages_downloaded']")" "True 0" "a hit with credentials"
  ! grep -rq "$secret" g.json g.err h.json h.err h2.json h2.err "$TEST_TMP/authreg/storage" ||
    die "the password is in the output or in what the registry stores"
  REG_PORT=$REG_SAVED
else
  log "(htpasswd not installed: the auth case is not run)"
fi
log "ok"
