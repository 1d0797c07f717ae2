#!/usr/bin/env bash
# The whole-image memo (docs/cache.md): a second build of the same lock reads one memo entry and
# writes the same image (same manifest digest) without fetching, extracting or planning a package;
# `-v` says so and `--json` reports `image_memo`. A memo whose blob is gone, or a lock with one
# package changed, falls back to the normal build (the right image, never a stale one), and
# `cache ls` / `cache prune` list and remove memo entries.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
C=$TEST_TMP/cache
flags=(--base scratch --layering per-package --cache-dir "$C")
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print(j$1)"; }

ch=$TEST_TMP/channel
for i in 1 2 3; do
  PKG_BYTES=$((i * 50000)) make_pkg "$ch" noarch "m$i" 1.0
  pkgs+=("noarch/$CONDAPKG_LAST.conda")
done
PKG_BYTES=70000 make_pkg "$ch" noarch m2 1.1
bumped=("${pkgs[@]}")
bumped[1]=noarch/$CONDAPKG_LAST.conda
condapkg_index "$ch"
explicit_lock "$ch" "file://$ch" "${pkgs[@]}" >"$TEST_TMP/a.txt"
explicit_lock "$ch" "file://$ch" "${bumped[@]}" >"$TEST_TMP/b.txt"

log "first build: a miss, the memo is written"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/one" >"$TEST_TMP/one.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/one.json")" "first build's memo use"
key=$(json "['image_memo']['key']" <"$TEST_TMP/one.json")
[[ "$key" == sha256:* ]] || die "no memo key in --json: $(cat "$TEST_TMP/one.json")"
assert_file "$C/layers/images/${key#sha256:}.json"
want=$(json "['manifest_digest']" <"$TEST_TMP/one.json")

log "second build: a hit, the same image, no package read (the package cache and plans are gone)"
rm -rf "$C/pkgs" "$C/layers/plans"
"$DE_CLI" -v build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/two" >"$TEST_TMP/two.json" 2>"$TEST_TMP/two.err" ||
  die "the memo build failed: $(cat "$TEST_TMP/two.err")"
assert_eq True "$(json "['image_memo']['hit']" <"$TEST_TMP/two.json")" "second build's memo use"
assert_eq "$key" "$(json "['image_memo']['key']" <"$TEST_TMP/two.json")" "memo key"
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/two.json")" "manifest digest with the memo"
assert_eq "$want" "$(inspect "oci:$TEST_TMP/two" "j['manifest_digest']")" "manifest digest on disk"
assert_contains "$(cat "$TEST_TMP/two.err")" "image memo ${key#sha256:}: hit" "-v names the memo hit"
assert_contains "$(cat "$TEST_TMP/two.err")" "nothing planned" "-v says nothing was planned"
[[ ! -e "$C/pkgs" ]] || die "a memo hit touched the package cache: $(ls -R "$C/pkgs" | head)"
[[ ! -e "$C/layers/plans" ]] || die "a memo hit planned packages"
assert_eq 0 "$(json "['packages_downloaded']" <"$TEST_TMP/two.json")" "packages downloaded on a hit"

log "to a docker-archive too (its own memo: uncompressed layers), the same bytes as without the memo"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "docker-archive:$TEST_TMP/da1.tar:m:1" >"$TEST_TMP/da1.json"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "docker-archive:$TEST_TMP/da2.tar:m:1" >"$TEST_TMP/da2.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/da1.json")" "first docker-archive build"
assert_eq True "$(json "['image_memo']['hit']" <"$TEST_TMP/da2.json")" "second docker-archive build"
cmp -s "$TEST_TMP/da1.tar" "$TEST_TMP/da2.tar" || die "the docker-archive written from the memo differs"

log "a memo whose blob is gone: the normal build, the same image, the memo written again"
blob=$(inspect "oci:$TEST_TMP/one" "j['layers'][1]['digest']")
rm -f "$C/layers/blobs/sha256/${blob#sha256:}"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/three" >"$TEST_TMP/three.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/three.json")" "memo with a missing blob"
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/three.json")" "manifest digest after the fallback"
assert_file "$C/layers/blobs/sha256/${blob#sha256:}"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/four" >"$TEST_TMP/four.json"
assert_eq True "$(json "['image_memo']['hit']" <"$TEST_TMP/four.json")" "memo after the fallback"

log "a damaged memo: the normal build"
chmod u+w "$C/layers/images/${key#sha256:}.json"
echo '{"format": "docker-envs image memo 1", "key": "' >"$C/layers/images/${key#sha256:}.json"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/five" >"$TEST_TMP/five.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/five.json")" "damaged memo"
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/five.json")" "manifest digest after a damaged memo"

log "one package changed: another key, only its layer and the final one built"
run_cli build "$TEST_TMP/b.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/bumped" >"$TEST_TMP/bumped.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/bumped.json")" "memo of the changed lock"
[[ "$(json "['image_memo']['key']" <"$TEST_TMP/bumped.json")" != "$key" ]] || die "the changed lock has the same memo key"
reused=$(python3 -c "import json,sys; print([l['reused'] for l in json.load(sys.stdin)['layers']])" <"$TEST_TMP/bumped.json")
assert_eq "[True, False, True, False]" "$reused" "layers reused after the change"
assert_contains "$("$DE_CLI" image ls "oci:$TEST_TMP/bumped")" "opt/conda/conda-meta/m2-1.1-" "the changed package is in the image"

log "a lock without sha256: no memo, said in --json"
sed 's/#.*//' "$TEST_TMP/a.txt" >"$TEST_TMP/nohash.txt"
run_cli build "$TEST_TMP/nohash.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/nohash" >"$TEST_TMP/nohash.json"
assert_eq None "$(json "['image_memo']['key']" <"$TEST_TMP/nohash.json")" "memo key without sha256"
assert_contains "$(json "['image_memo']['why_not']" <"$TEST_TMP/nohash.json")" "has no sha256" "why there is no memo"

log "cache ls lists the memos; prune removes them"
"$DE_CLI" cache ls --cache-dir "$C" --json >"$TEST_TMP/ls.json"
(($(json "['kinds']['images']['entries']" <"$TEST_TMP/ls.json") >= 3)) || die "cache ls lists no image memos: $(cat "$TEST_TMP/ls.json")"
sleep 2
"$DE_CLI" cache prune --cache-dir "$C" --all --json >"$TEST_TMP/prune.json" || die "prune failed"
assert_contains "$(json "['removed']" <"$TEST_TMP/prune.json")" "'kind': 'images'" "prune removes memos"
[[ -z "$(ls "$C/layers/images" 2>/dev/null | grep -v '^\.')" ]] || die "memos left after prune --all: $(ls "$C/layers/images")"
run_cli build "$TEST_TMP/a.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/six" >"$TEST_TMP/six.json"
assert_eq False "$(json "['image_memo']['hit']" <"$TEST_TMP/six.json")" "memo after prune --all"
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/six.json")" "manifest digest after prune --all"
