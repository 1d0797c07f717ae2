#!/usr/bin/env bash
# `docker-envs build --offline` against a channel served over HTTP on 127.0.0.1:
# - built once with the server up (warm caches), the same environment.yml builds with the server
#   stopped and --offline, to the same manifest digest;
# - from a cold package cache it fails at once (well under a second), naming every missing package;
# - a registry base image or destination is refused offline before any work.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
need_cmd curl
export XDG_CACHE_HOME=$TEST_TMP/cache
export SOURCE_DATE_EPOCH=1700000000

ch=$TEST_TMP/channel
make_pkg "$ch" noarch offa 1.0
offa=$CONDAPKG_LAST
make_pkg "$ch" noarch offb 2.0 "offa >=1"
offb=$CONDAPKG_LAST
condapkg_index "$ch"
start_channel_server "$ch"

cat >"$TEST_TMP/environment.yml" <<YML
name: offline-env
channels:
  - $CHANNEL_URL
dependencies:
  - offb
image:
  base: scratch
YML

log "warm: built with the channel server up"
"$DE_CLI" build "$TEST_TMP/environment.yml" --json -o "oci:$TEST_TMP/warm:1" >"$TEST_TMP/warm.json" 2>"$TEST_TMP/warm.err" ||
  { cat "$TEST_TMP/warm.err" >&2; die "warm build failed"; }
warm=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifest_digest'])" "$TEST_TMP/warm.json")
(( $(channel_requests "\.conda ") >= 2 )) || die "the warm build downloaded no packages: $(cat "$CHANNEL_LOG")"

log "the channel server stops"
kill "$CHANNEL_PID"
wait "$CHANNEL_PID" 2>/dev/null || true
curl -s -m 2 "$CHANNEL_URL/noarch/repodata.json" >/dev/null && die "the channel server still answers"

log "offline: the same image from the caches"
"$DE_CLI" build "$TEST_TMP/environment.yml" --offline --json -o "oci:$TEST_TMP/offline:1" \
  >"$TEST_TMP/offline.json" 2>"$TEST_TMP/offline.err" ||
  { cat "$TEST_TMP/offline.err" >&2; die "offline build failed"; }
offline=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifest_digest'])" "$TEST_TMP/offline.json")
assert_eq "$warm" "$offline" "manifest digest offline"

log "without --offline the stopped server is an error (the repodata is revalidated)"
if "$DE_CLI" build "$TEST_TMP/environment.yml" --cache-dir "$TEST_TMP/cold" -o "oci:$TEST_TMP/online:1" \
  >/dev/null 2>"$TEST_TMP/online.err"; then
  die "an online build with the channel down and a cold package cache succeeded"
fi

log "offline from a cold package cache: fails at once naming the missing packages"
start=$(date +%s%N)
rc=0
"$DE_CLI" build "$TEST_TMP/environment.yml" --offline --cache-dir "$TEST_TMP/cold" \
  -o "oci:$TEST_TMP/cold-out:1" >/dev/null 2>"$TEST_TMP/cold.err" || rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((rc != 0 && rc < 128)) || die "cold offline build: exit $rc"
err=$(cat "$TEST_TMP/cold.err")
assert_contains "$err" "offline: 2 package(s)" "cold offline error"
assert_contains "$err" "$offa" "cold offline error names $offa"
assert_contains "$err" "$offb" "cold offline error names $offb"
((elapsed_ms < 1000)) || die "the cold offline build took ${elapsed_ms} ms to fail"
[[ ! -e "$TEST_TMP/cold-out" ]] || die "the failed offline build wrote its output"
log "failed in ${elapsed_ms} ms: $err"

log "offline with no cached repodata names the channel"
rc=0
XDG_CACHE_HOME=$TEST_TMP/nocache "$DE_CLI" build "$TEST_TMP/environment.yml" --offline \
  -o "oci:$TEST_TMP/nocache-out:1" >/dev/null 2>"$TEST_TMP/nocache.err" || rc=$?
((rc != 0 && rc < 128)) || die "offline build without repodata: exit $rc"
assert_contains "$(cat "$TEST_TMP/nocache.err")" "offline" "no-repodata error"
assert_contains "$(cat "$TEST_TMP/nocache.err")" "127.0.0.1:$CHANNEL_PORT" "no-repodata error names the channel"

log "env install --offline: from the warm package cache, and refused from a cold one"
explicit_lock "$ch" "$CHANNEL_URL" "noarch/$offa.conda" "noarch/$offb.conda" >"$TEST_TMP/lock.txt"
run_cli env install "$TEST_TMP/lock.txt" --offline --root "$TEST_TMP/root"
assert_file "$TEST_TMP/root/opt/conda/conda-meta/$offb.json"
rc=0
"$DE_CLI" env install "$TEST_TMP/lock.txt" --offline --cache "$TEST_TMP/cold-env" --root "$TEST_TMP/root2" \
  >/dev/null 2>"$TEST_TMP/env-cold.err" || rc=$?
((rc != 0 && rc < 128)) || die "env install --offline from a cold cache: exit $rc"
assert_contains "$(cat "$TEST_TMP/env-cold.err")" "$offa" "env install --offline names $offa"

log "offline refuses a registry base and a registry destination"
rc=0
"$DE_CLI" build "$TEST_TMP/environment.yml" --offline --base debian:bookworm-slim \
  -o "oci:$TEST_TMP/x:1" >/dev/null 2>"$TEST_TMP/base.err" || rc=$?
((rc != 0 && rc < 128)) || die "offline registry base: exit $rc"
assert_contains "$(cat "$TEST_TMP/base.err")" "--offline: the base image debian:bookworm-slim" "registry base"
rc=0
"$DE_CLI" build "$TEST_TMP/environment.yml" --offline -o docker://127.0.0.1:1/x:1 \
  >/dev/null 2>"$TEST_TMP/dest.err" || rc=$?
((rc != 0 && rc < 128)) || die "offline registry destination: exit $rc"
assert_contains "$(cat "$TEST_TMP/dest.err")" "--offline: the destination docker://127.0.0.1:1/x:1" "registry destination"
log "ok"
