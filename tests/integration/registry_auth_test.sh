#!/usr/bin/env bash
# Registry authentication and TLS against Debian's docker-registry on 127.0.0.1:
#  - htpasswd basic auth: no credentials and wrong credentials fail with a clear Auth error (no
#    crash, no secret in the output); --creds, config.json `auths` and a credential helper work;
#  - TLS with a test CA made by openssl: refused without the CA, accepted with --ca-file, and the
#    pushed image reads back with skopeo.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cmd docker-registry htpasswd openssl python3
need_cli image push

export XDG_CACHE_HOME=$TEST_TMP/cache
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
secret='s3cr3t-Pa55word'
htpasswd -Bbc "$TEST_TMP/htpasswd" alice "$secret" >/dev/null 2>&1

mkdir -p "$TEST_TMP/root"
echo content >"$TEST_TMP/root/file.txt"
run_cli image add-layer scratch --dir "$TEST_TMP/root" "docker-archive:$TEST_TMP/img.tar:t/img:1"

# expect_fail WHAT NEEDLE CMD...: the command exits 1 with NEEDLE in stderr and no secret anywhere.
expect_fail() {
  local what=$1 needle=$2 rc=0
  shift 2
  "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq 1 "$rc" "$what: exit status"
  assert_contains "$(cat "$TEST_TMP/err")" "$needle" "$what"
  ! grep -q "$secret" "$TEST_TMP/out" "$TEST_TMP/err" || die "$what: the password was printed"
}

log "htpasswd (basic auth)"
start_registry basic --htpasswd "$TEST_TMP/htpasswd"
REG=127.0.0.1:$REG_PORT
export DOCKER_CONFIG=$TEST_TMP/docker-empty
expect_fail "anonymous push" "no credentials for" "$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/a/img:1"
expect_fail "wrong password" "rejected the credentials" "$DE_CLI" -v image push "$TEST_TMP/img.tar" "docker://$REG/a/img:1" --creds "alice:wrong-$secret"
"$DE_CLI" -v image push "$TEST_TMP/img.tar" "docker://$REG/a/img:1" --creds "alice:$secret" --json >"$TEST_TMP/push.json" 2>"$TEST_TMP/push.err"
! grep -q "$secret" "$TEST_TMP/push.json" "$TEST_TMP/push.err" || die "the password appeared in debug output"
! grep -qi "authorization" "$TEST_TMP/push.err" || die "an Authorization header appeared in debug output"
digest=$(json "['manifest_digest']" <"$TEST_TMP/push.json")

log "credentials from config.json auths"
mkdir -p "$TEST_TMP/docker-auths"
auth=$(printf '%s' "alice:$secret" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$auth" >"$TEST_TMP/docker-auths/config.json"
DOCKER_CONFIG=$TEST_TMP/docker-auths "$DE_CLI" image pull "docker://$REG/a/img:1" "oci:$TEST_TMP/p1" --json >"$TEST_TMP/pull.json"
assert_eq "$digest" "$(json "['manifest_digest']" <"$TEST_TMP/pull.json")" "pull with config.json auths"

log "credentials from a credential helper (credHelpers)"
mkdir -p "$TEST_TMP/bin" "$TEST_TMP/docker-helper"
cat >"$TEST_TMP/bin/docker-credential-detest" <<SH
#!/usr/bin/env bash
[[ "\$1" == get ]] || exit 1
read -r server
echo "\$server" >>"$TEST_TMP/helper-calls"
if [[ "\$server" == "$REG" ]]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$server" "$secret"
else
  echo "credentials not found in native keychain"
  exit 1
fi
SH
chmod +x "$TEST_TMP/bin/docker-credential-detest"
printf '{"credHelpers":{"%s":"detest"}}\n' "$REG" >"$TEST_TMP/docker-helper/config.json"
PATH=$TEST_TMP/bin:$PATH DOCKER_CONFIG=$TEST_TMP/docker-helper \
  "$DE_CLI" image pull "docker://$REG/a/img:1" "oci:$TEST_TMP/p2" --json >"$TEST_TMP/pull2.json"
assert_eq "$digest" "$(json "['manifest_digest']" <"$TEST_TMP/pull2.json")" "pull with a credential helper"
assert_eq "$REG" "$(head -1 "$TEST_TMP/helper-calls")" "server the helper was asked about"

log "credsStore that fails: a warning, then anonymous (which this registry refuses)"
printf '{"credsStore":"missing-helper-xyz"}\n' >"$TEST_TMP/docker-helper/config.json"
expect_fail "missing credsStore helper" "HTTP 401" env DOCKER_CONFIG="$TEST_TMP/docker-helper" \
  "$DE_CLI" image pull "docker://$REG/a/img:1" "oci:$TEST_TMP/p3"
assert_contains "$(cat "$TEST_TMP/err")" "docker-credential-missing-helper-xyz" "the warning names the helper"

log "TLS with a test CA"
make_test_ca "$TEST_TMP/ca"
start_registry tls --tls "$TEST_TMP/ca/server.pem" "$TEST_TMP/ca/server.key"
REG=127.0.0.1:$REG_PORT
export DOCKER_CONFIG=$TEST_TMP/docker-empty
expect_fail "unknown CA" "TLS verification failed" "$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/a/img:1"
"$DE_CLI" image push "$TEST_TMP/img.tar" "docker://$REG/a/img:1" --ca-file "$TEST_TMP/ca/ca.pem" --json >"$TEST_TMP/tls.json"
tls_digest=$(json "['manifest_digest']" <"$TEST_TMP/tls.json")
"$DE_CLI" image pull "docker://$REG/a/img:1" "oci:$TEST_TMP/p4" --ca-file "$TEST_TMP/ca/ca.pem" --json >"$TEST_TMP/tls-pull.json"
assert_eq "$tls_digest" "$(json "['manifest_digest']" <"$TEST_TMP/tls-pull.json")" "TLS round trip"
# --insecure-registry: TLS without verification.
"$DE_CLI" image pull "docker://$REG/a/img:1" "oci:$TEST_TMP/p5" --insecure-registry "$REG" >/dev/null 2>&1 ||
  die "--insecure-registry did not accept the unverified certificate"
if command -v skopeo >/dev/null; then
  mkdir -p "$TEST_TMP/certs"
  cp "$TEST_TMP/ca/ca.pem" "$TEST_TMP/certs/ca.crt"
  got=$(skopeo inspect --cert-dir "$TEST_TMP/certs" "docker://$REG/a/img:1" | json "['Digest']")
  assert_eq "$tls_digest" "$got" "skopeo over TLS"
fi
log "ok"
