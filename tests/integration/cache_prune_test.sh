#!/usr/bin/env bash
# `docker-envs cache ls` / `cache prune` on a real build cache:
# - `cache prune --max-size 0` while another build holds the cache (it is waiting on a slow package
#   download): the entries that build already uses are kept (reported in_use), everything else
#   goes, the build still succeeds and its image is complete;
# - once no build runs, `--max-size 0` empties the cache and a rebuild gives the same digest;
# - `cache ls --json` schema; bad SIZE / DURATION values are usage errors.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
need_cli cache prune
export XDG_CACHE_HOME=$TEST_TMP/xdg
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
C=$TEST_TMP/cache

ch=$TEST_TMP/channel
make_pkg "$ch" noarch pa 1.0
pa=$CONDAPKG_LAST
make_pkg "$ch" noarch pb 1.0
pb=$CONDAPKG_LAST
make_pkg "$ch" noarch pslow 1.0
pslow=$CONDAPKG_LAST
condapkg_index "$ch"
start_channel_server "$ch" --slow "pslow-1.0:6"
explicit_lock "$ch" "$CHANNEL_URL" "noarch/$pa.conda" "noarch/$pb.conda" >"$TEST_TMP/first.txt"
explicit_lock "$ch" "$CHANNEL_URL" "noarch/$pslow.conda" "noarch/$pa.conda" "noarch/$pb.conda" >"$TEST_TMP/second.txt"
flags=(--base scratch --layering per-package --cache-dir "$C")

log "first build fills the cache"
run_cli build "$TEST_TMP/first.txt" "${flags[@]}" -o "oci:$TEST_TMP/first"
"$DE_CLI" cache ls --cache-dir "$C" --json >"$TEST_TMP/ls1.json"
for kind in packages extracted layers plans; do
  (($(json "['kinds']['$kind']['entries']" <"$TEST_TMP/ls1.json") >= 2)) || die "no $kind entries after a build: $(cat "$TEST_TMP/ls1.json")"
done
sleep 2  # what the first build used is now older than anything the next build starts

log "prune --max-size 0 while a second build waits on a slow download"
"$DE_CLI" build "$TEST_TMP/second.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/second" \
  >"$TEST_TMP/second.json" 2>"$TEST_TMP/second.err" &
build_pid=$!
on_exit "kill $build_pid 2>/dev/null; wait $build_pid 2>/dev/null"
for ((i = 0; i < 200; i++)); do
  grep -q "^WAIT .*pslow" "$CHANNEL_LOG" && break
  kill -0 "$build_pid" 2>/dev/null || { cat "$TEST_TMP/second.err" >&2; die "the second build ended early"; }
  sleep 0.1
done
grep -q "^WAIT .*pslow" "$CHANNEL_LOG" || die "the second build never asked for the slow package"
sleep 1  # its other packages are found in the cache meanwhile
[[ -n "$(ls "$C/.leases")" ]] || die "the running build holds no lease"
"$DE_CLI" cache prune --cache-dir "$C" --max-size 0 --json >"$TEST_TMP/prune1.json" || die "prune failed"
kill -0 "$build_pid" 2>/dev/null || die "the second build finished before the prune: the test proves nothing"
in_use=$(json "['in_use']" <"$TEST_TMP/prune1.json")
assert_contains "$in_use" "pkgs/$pa-" "the extracted package the running build uses is kept"
assert_contains "$in_use" "pkgs/$pb-" "both extracted packages the running build uses are kept"
removed=$(json "['removed']" <"$TEST_TMP/prune1.json")
assert_contains "$removed" "'kind': 'layers'" "the first build's layers are removed"
assert_contains "$removed" "'kind': 'plans'" "the first build's plans are removed"
assert_contains "$removed" "pkgs/downloads/$pa.conda" "downloads the running build does not need are removed"
wait "$build_pid" || { cat "$TEST_TMP/second.err" >&2; die "the build that ran beside the prune failed"; }
digest=$(json "['manifest_digest']" <"$TEST_TMP/second.json")
listing=$("$DE_CLI" image ls "oci:$TEST_TMP/second")
for p in pa pb pslow; do
  grep -q "share/$p/data.bin" <<<"$listing" || die "$p missing from the image built beside the prune"
done

log "with no build running, --max-size 0 empties the cache"
sleep 2
"$DE_CLI" cache prune --cache-dir "$C" --max-size 0 --json >"$TEST_TMP/prune2.json" || die "prune failed"
assert_eq "[]" "$(json "['in_use']" <"$TEST_TMP/prune2.json")" "nothing in use"
"$DE_CLI" cache ls --cache-dir "$C" --json >"$TEST_TMP/ls2.json"
assert_eq 0 "$(json "['entries'].__len__()" <"$TEST_TMP/ls2.json")" "entries after pruning everything"
assert_eq 0 "$(json "['bytes']" <"$TEST_TMP/ls2.json")" "bytes after pruning everything"

log "a rebuild after the prune gives the same image"
"$DE_CLI" build "$TEST_TMP/second.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/again" >"$TEST_TMP/again.json" ||
  die "the rebuild after prune failed"
assert_eq "$digest" "$(json "['manifest_digest']" <"$TEST_TMP/again.json")" "manifest digest after the prune"

log "cache ls --json schema"
"$DE_CLI" cache ls --cache-dir "$C" --json >"$TEST_TMP/ls3.json"
python3 - "$TEST_TMP/ls3.json" <<'PY' || die "cache ls --json does not have the documented shape: $(cat "$TEST_TMP/ls3.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"root", "bytes", "kinds", "entries"}, j.keys()
assert set(j["kinds"]) == {"packages", "extracted", "wheels", "layers", "plans", "images", "repodata", "solver", "blobs", "builds"}
for k in j["kinds"].values():
    assert set(k) == {"entries", "bytes"}
assert sum(k["bytes"] for k in j["kinds"].values()) == j["bytes"]
assert sum(k["entries"] for k in j["kinds"].values()) == len(j["entries"]) > 0
last = None
for e in j["entries"]:
    assert set(e) == {"kind", "name", "bytes", "last_use", "last_use_unix"}, e
    assert e["kind"] in j["kinds"] and isinstance(e["bytes"], int)
    assert e["last_use"].endswith("Z") and isinstance(e["last_use_unix"], int)
    assert last is None or e["last_use_unix"] <= last  # most recent first
    last = e["last_use_unix"]
PY
"$DE_CLI" cache ls --cache-dir "$C" >"$TEST_TMP/ls.txt"
assert_contains "$(cat "$TEST_TMP/ls.txt")" "extracted" "the text listing names the kinds"

log "bad values"
rc=0
"$DE_CLI" cache prune --cache-dir "$C" --max-size 10X 2>"$TEST_TMP/bad1" || rc=$?
assert_eq 2 "$rc" "exit status for a bad size"
assert_contains "$(cat "$TEST_TMP/bad1")" "'10X' is not a size" "bad size message"
rc=0
"$DE_CLI" cache prune --cache-dir "$C" --older-than 7 2>"$TEST_TMP/bad2" || rc=$?
assert_eq 2 "$rc" "exit status for a bad duration"
assert_contains "$(cat "$TEST_TMP/bad2")" "'7' is not a duration" "bad duration message"
rc=0
"$DE_CLI" cache prune --cache-dir "$C" 2>"$TEST_TMP/bad3" || rc=$?
assert_eq 1 "$rc" "exit status without a selection"
assert_contains "$(cat "$TEST_TMP/bad3")" "--max-size" "the error says what to give"
"$DE_CLI" cache ls --cache-dir "$C" --json | json "['entries'].__len__()" | grep -qv '^0$' || die "a refused prune removed entries"
log "ok"
