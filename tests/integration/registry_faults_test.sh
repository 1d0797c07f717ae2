#!/usr/bin/env bash
# Transient faults between client and registry: a proxy in front of docker-registry answers 500,
# 429 (Retry-After: 1) and drops connections (mid-body for blob downloads) on every Nth request.
# Push and pull must still succeed, the pull must resume with Range, and the result must be
# byte-identical to a fault-free round trip.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry python3
need_cli image push

export DOCKER_CONFIG=$TEST_TMP/docker-empty
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_registry faults
# start_proxy EVERY: a fresh proxy faulting every EVERY-th request (its counter starts at zero,
# so where the faults land is fixed).
start_proxy() {
  PROXY_LOG=$TEST_TMP/proxy-$((++proxies)).log
  touch "$PROXY_LOG"
  start_test_server "proxy-$proxies" proxy --upstream "$REG_PORT" --every "$1" --log "$PROXY_LOG"
  PROXY_PORT=$SERVER_PORT
}
proxies=0
start_proxy 3

mkdir -p "$TEST_TMP/r1" "$TEST_TMP/r2" "$TEST_TMP/r3"
head -c 1500000 /dev/urandom >"$TEST_TMP/r1/a"
head -c 800000 /dev/urandom >"$TEST_TMP/r2/b"
echo small >"$TEST_TMP/r3/c"
run_cli image add-layer scratch --dir "$TEST_TMP/r1" "docker-archive:$TEST_TMP/1.tar:t/x:1"
run_cli image add-layer "$TEST_TMP/1.tar" --dir "$TEST_TMP/r2" "docker-archive:$TEST_TMP/2.tar:t/x:2"
run_cli image add-layer "$TEST_TMP/2.tar" --dir "$TEST_TMP/r3" "docker-archive:$TEST_TMP/3.tar:t/x:3"

log "reference: a fault-free push straight to the registry"
export XDG_CACHE_HOME=$TEST_TMP/cache-direct
"$DE_CLI" image push "$TEST_TMP/3.tar" "docker://127.0.0.1:$REG_PORT/direct/img:1" --json >"$TEST_TMP/direct.json"
want=$(json "['manifest_digest']" <"$TEST_TMP/direct.json")

log "push through the faulty proxy (monolithic and chunked)"
export XDG_CACHE_HOME=$TEST_TMP/cache-proxy
"$DE_CLI" -v image push "$TEST_TMP/3.tar" "docker://127.0.0.1:$PROXY_PORT/faulty/img:1" --json \
  >"$TEST_TMP/push.json" 2>"$TEST_TMP/push.err" || { cat "$TEST_TMP/push.err"; die "push through faults failed"; }
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/push.json")" "manifest digest through faults"
export XDG_CACHE_HOME=$TEST_TMP/cache-proxy-chunked
"$DE_CLI" image push "$TEST_TMP/3.tar" "docker://127.0.0.1:$PROXY_PORT/faulty/chunked:1" --chunk-size 400000 --json \
  >"$TEST_TMP/push2.json" 2>"$TEST_TMP/push2.err" || { cat "$TEST_TMP/push2.err"; die "chunked push through faults failed"; }
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/push2.json")" "chunked manifest digest through faults"

log "pull through the faulty proxy: resumes, verifies, byte-identical"
export XDG_CACHE_HOME=$TEST_TMP/cache-pull
# Every 2nd of: ping, manifest, config, 3 layers (with retries) puts a 500 on the manifest, a 429
# on the config and a mid-body drop on the first layer.
start_proxy 2
"$DE_CLI" -v image pull "docker://127.0.0.1:$PROXY_PORT/faulty/img:1" "oci:$TEST_TMP/pulled" --parallel 1 --json \
  >"$TEST_TMP/pull.json" 2>"$TEST_TMP/pull.err" || { cat "$TEST_TMP/pull.err"; die "pull through faults failed"; }
assert_eq "$want" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "pulled manifest digest"
grep -q 'fault=drop' "$PROXY_LOG" || die "the proxy injected no dropped connection"
grep -q "resuming at byte" "$TEST_TMP/pull.err" || die "the pull did not resume a dropped download"
grep -q 'fault=429' "$PROXY_LOG" || die "the proxy injected no 429"
grep -q 'fault=500' "$PROXY_LOG" || die "the proxy injected no 500"
export XDG_CACHE_HOME=$TEST_TMP/cache-pull-direct
"$DE_CLI" image pull "docker://127.0.0.1:$REG_PORT/direct/img:1" "oci:$TEST_TMP/pulled-direct" >/dev/null 2>&1
diff -r "$TEST_TMP/pulled" "$TEST_TMP/pulled-direct" >/dev/null || die "the pulled layouts differ"
log "ok"
