#!/usr/bin/env bash
# Bearer-token auth (`auth: token`) against docker-registry on 127.0.0.1 with the small token
# service in tests/support: anonymous pull gets a pull-only token, anonymous push is refused
# clearly, pushes with credentials work (tokens cached per scope), wrong credentials are reported
# as such, and a push to a second repository mounts with a token for both repositories.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry openssl python3
need_cli image push

export XDG_CACHE_HOME=$TEST_TMP/cache DOCKER_CONFIG=$TEST_TMP/docker-empty
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
secret='t0ken-Pa55'

# Token signing key and the certificate the registry trusts; the JWT names the key by its libtrust
# key ID (base32 of the first 240 bits of SHA-256 over the DER public key, in groups of four).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=token-signer" \
  -keyout "$TEST_TMP/token.key" -out "$TEST_TMP/token.pem" >/dev/null 2>&1
kid=$(openssl rsa -in "$TEST_TMP/token.key" -pubout -outform DER 2>/dev/null | python3 -c '
import base64, hashlib, sys
b = base64.b32encode(hashlib.sha256(sys.stdin.buffer.read()).digest()[:30]).decode()
print(":".join(b[i:i + 4] for i in range(0, len(b), 4)))')

TOKEN_LOG=$TEST_TMP/token.log
touch "$TOKEN_LOG"
start_test_server token token --key "$TEST_TMP/token.key" --kid "$kid" --issuer test-issuer \
  --users "alice:$secret" --log "$TOKEN_LOG"
TOKEN_PORT=$SERVER_PORT

start_registry tok --token "http://127.0.0.1:$TOKEN_PORT/token" test-service test-issuer "$TEST_TMP/token.pem"
REG=127.0.0.1:$REG_PORT

mkdir -p "$TEST_TMP/root"
head -c 100000 /dev/urandom >"$TEST_TMP/root/data"
run_cli image add-layer scratch --dir "$TEST_TMP/root" "docker-archive:$TEST_TMP/img.tar:t/img:1"

log "anonymous push is refused with a clear message"
rc=0
"$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/team/app:1" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "anonymous push exit status"
assert_contains "$(cat "$TEST_TMP/err")" "no credentials for $REG" "anonymous push error"

log "wrong credentials"
rc=0
"$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/team/app:1" --creds "alice:nope" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "wrong credentials exit status"
assert_contains "$(cat "$TEST_TMP/err")" "token service refused the credentials" "wrong credentials error"
! grep -q nope "$TEST_TMP/err" || die "the password was printed"

log "push with credentials; tokens are cached per scope"
: >"$TOKEN_LOG"
"$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/team/app:1" --creds "alice:$secret" --json >"$TEST_TMP/push.json"
digest=$(json "['manifest_digest']" <"$TEST_TMP/push.json")
n=$(grep -c 'result=200' "$TOKEN_LOG")
((n == 1)) || { cat "$TOKEN_LOG"; die "expected one token request for the push, saw $n"; }

log "anonymous pull with a pull-only token"
"$DE_CLI" image pull "docker://$REG/team/app:1" "oci:$TEST_TMP/pulled" --json >"$TEST_TMP/pull.json"
assert_eq "$digest" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "anonymous pull"
grep -q 'token user=- scopes=repository:team/app:pull result=200' "$TOKEN_LOG" || die "no anonymous pull token"

log "push to a second repository mounts (token for both scopes)"
"$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/team/copy:1" --creds "alice:$secret" --json >"$TEST_TMP/push2.json"
assert_eq 2 "$(json "['blobs_mounted']" <"$TEST_TMP/push2.json")" "blobs mounted"
grep -q 'scopes=repository:team/app:pull repository:team/copy:pull,push' "$TOKEN_LOG" ||
  { cat "$TOKEN_LOG"; die "no token with both scopes"; }
log "ok"
