#!/usr/bin/env bash
# The helpers of lib.sh decide pass, fail and skip for every other integration test, so they are
# tested too: need_cli skips only when the binary is absent, and fails (never skips) when the
# binary exists but lacks the command a test needs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli

# outcome ARGS...: the exit status of need_cli ARGS in a fresh shell (0 pass, 1 fail, 77 skip).
outcome() {
  local rc=0
  DE_CLI=${CLI:-$DE_CLI} bash -c 'source "$1/tests/integration/lib.sh"; shift; need_cli "$@"' \
    need_cli "$DE_SOURCE_DIR" "$@" >"$TEST_TMP/out" 2>&1 || rc=$?
  echo "$rc"
}

log "existing commands pass"
assert_eq 0 "$(outcome)" "need_cli"
assert_eq 0 "$(outcome image ls)" "need_cli image ls"
assert_eq 0 "$(outcome build)" "need_cli build"

log "a missing command fails, naming it"
assert_eq 1 "$(outcome image no-such-command)" "need_cli image no-such-command"
assert_contains "$(cat "$TEST_TMP/out")" "docker-envs image no-such-command" "the failure message"
assert_eq 1 "$(outcome no-such-command)" "need_cli no-such-command"

log "a broken binary fails"
printf '#!/bin/sh\nexit 3\n' >"$TEST_TMP/broken"
chmod +x "$TEST_TMP/broken"
assert_eq 1 "$(CLI=$TEST_TMP/broken outcome image ls)" "need_cli image ls with a broken binary"

log "only a missing binary skips"
assert_eq 77 "$(CLI=$TEST_TMP/absent outcome image ls)" "need_cli with no binary"
log "ok"
