#!/usr/bin/env bash
# Failing fast (issue 13 item 14): `env install` of a conda-lock with 200 packages on a host that
# refuses connections, or whose name does not resolve, gives up on the host once for all its
# URLs instead of retrying every package; each retry is a line under -v (URL without credentials,
# attempt, delay, reason). Counted, not timed: the retry lines of the run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli env install
need_cmd python3

jobs=4
attempts=4 # HttpFetcherOptions::max_attempts
# One retry sequence, plus the attempts the other threads had in flight when the host was given
# up on. Without giving up, every one of the 4 threads retried its package 3 times before the
# first failure stopped the rest (12 retry lines), and 200 packages on one thread: 600.
most_retries=$((attempts + jobs - 1))

# A port nothing listens on: bound, then closed.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

# conda_lock BASE_URL: a conda-lock v1 with 200 linux-64 packages under BASE_URL.
conda_lock() {
  python3 - "$1" <<'EOF'
import sys
base = sys.argv[1]
print("version: 1")
print("metadata:\n  channels:\n    - url: conda-forge\n      used_env_vars: []")
print("  content_hash:\n    linux-64: " + "0" * 64)
print("  platforms:\n    - linux-64\n  sources:\n    - environment.yml")
print("package:")
for i in range(200):
    print(f"""  - category: main
    dependencies: {{}}
    hash:
      sha256: {i:064x}
    manager: conda
    name: p{i}
    optional: false
    platform: linux-64
    url: {base}/conda-forge/linux-64/p{i}-1.0-0.tar.bz2
    version: "1.0"
""")
EOF
}

# check_fails_once NAME BASE_URL SHOWN_HOST: env install fails naming SHOWN_HOST, with at least
# one and at most $most_retries retry lines, none of which shows a credential.
check_fails_once() {
  local name=$1 base=$2 host=$3 rc=0 err retries
  conda_lock "$base" >"$TEST_TMP/$name.yml"
  "$DE_CLI" -v env install "$TEST_TMP/$name.yml" --root "$TEST_TMP/root-$name" --jobs "$jobs" \
    --cache "$TEST_TMP/pkgs" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
  err=$(<"$TEST_TMP/$name.err")
  ((rc != 0 && rc < 128)) || die "$name: env install exited $rc: $err"
  assert_contains "$err" "$host" "$name: the error names the host"
  retries=$(grep -c '^debug: retrying ' "$TEST_TMP/$name.err" || true)
  ((retries >= 1)) || die "$name: no retry shown under -v: $err"
  ((retries <= most_retries)) ||
    die "$name: $retries retries (at most $most_retries: the host is given up on once): $err"
  grep '^debug: retrying ' "$TEST_TMP/$name.err" | head -1 | grep -q '(attempt 2 of 4) in [0-9]* ms: ' ||
    die "$name: a retry line says the attempt, the delay and the reason: $err"
  [[ "$err" != *secret* ]] || die "$name: a credential was printed: $err"
  [[ ! -e "$TEST_TMP/root-$name" ]] || die "$name: the failed install left $TEST_TMP/root-$name"
  log "$name: failed once ($retries retry lines)"
}

check_fails_once refused "http://user:pw-secret@127.0.0.1:$port/t/tk-secret" "127.0.0.1:$port"
check_fails_once unresolvable "http://docker-envs-test.invalid" "docker-envs-test.invalid"
