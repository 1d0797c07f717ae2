#!/usr/bin/env bash
# Bad inputs to `docker-envs build` fail with a clear message that names what is wrong (the file
# and line, the package, the base image, the channel), exit non-zero, and leave nothing at the
# destination (no archive, no layout, no temp files beside it): malformed YAML, a package no
# channel has, a base image the registry does not have, a channel nothing answers at (in a lock and
# in an environment.yml), a lock whose package file is missing or does not match its sha256.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache

make_example_channel "$TEST_TMP/channel"

# expect_failure WHAT NEEDLE... -- BUILD ARGS: the build fails, its stderr holds every NEEDLE
# (case-insensitive), and the output directory $TEST_TMP/out stays empty.
expect_failure() {
  local what=$1
  shift
  local -a needles=()
  while [[ $1 != -- ]]; do needles+=("$1"); shift; done
  shift
  rm -rf "$TEST_TMP/out"
  mkdir -p "$TEST_TMP/out"
  local rc=0
  timeout 300 "$DE_CLI" build "$@" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || rc=$?
  local err
  err=$(cat "$TEST_TMP/stderr")
  ((rc != 0)) || die "$what: build succeeded"
  ((rc != 124)) || die "$what: build hung (timed out)"
  [[ -n "$err" ]] || die "$what: no error message"
  local n
  for n in "${needles[@]}"; do
    grep -qiF -- "$n" <<<"$err" || die "$what: the message does not mention '$n': $err"
  done
  [[ -z "$(ls -A "$TEST_TMP/out")" ]] || die "$what: left output behind: $(ls -A "$TEST_TMP/out")"
  log "$what: ${err%%$'\n'*}"
}

log "malformed YAML: names the file and the line"
printf 'name: bad\nchannels:\n  - %s\ndependencies:\n  - hello\n  image: [unclosed\n' "$TEST_TMP/channel" \
  >"$TEST_TMP/malformed.yml"
expect_failure "malformed YAML" "malformed.yml" ":6" -- \
  "$TEST_TMP/malformed.yml" -o "docker-archive:$TEST_TMP/out/img.tar"

log "unknown package: names it"
printf 'name: bad\nchannels:\n  - %s\ndependencies:\n  - no-such-package-xyz\nimage:\n  base: scratch\n' \
  "$TEST_TMP/channel" >"$TEST_TMP/unknown.yml"
expect_failure "unknown package" "no-such-package-xyz" -- \
  "$TEST_TMP/unknown.yml" -o "oci:$TEST_TMP/out/layout"

log "base image not found: names it"
start_registry reg
good=$TEST_TMP/channel/explicit.txt
expect_failure "missing base image" "test/no-such-base" -- \
  "$good" --base "127.0.0.1:$REG_PORT/test/no-such-base:1" -o "docker-archive:$TEST_TMP/out/img.tar"

log "unreachable channel: names it"
port=$(free_port)
sed "s|^file://$TEST_TMP/channel|http://127.0.0.1:$port/nothing-here|" "$good" >"$TEST_TMP/unreachable.txt"
expect_failure "unreachable channel" "127.0.0.1:$port" -- \
  "$TEST_TMP/unreachable.txt" --base scratch -o "docker-archive:$TEST_TMP/out/img.tar"

printf 'name: bad\nchannels:\n  - http://127.0.0.1:%s/nothing-here\ndependencies:\n  - hello\nimage:\n  base: scratch\n' \
  "$port" >"$TEST_TMP/unreachable.yml"
expect_failure "unreachable channel (environment.yml)" "127.0.0.1:$port" -- \
  "$TEST_TMP/unreachable.yml" -o "docker-archive:$TEST_TMP/out/img.tar"

log "lock naming a package file that does not exist: names it"
sed "s|/noarch/hello-data-|/noarch/gone-hello-data-|" "$good" >"$TEST_TMP/gone.txt"
expect_failure "missing package file" "gone-hello-data" -- \
  "$TEST_TMP/gone.txt" --base scratch -o "oci:$TEST_TMP/out/layout"

log "lock whose package does not match its sha256: names the package"
f=$(cd "$TEST_TMP/channel" && ls noarch/hello-data-*.conda)
{
  echo "@EXPLICIT"
  echo "file://$TEST_TMP/channel/$f#$(printf '0%.0s' {1..64})"
} >"$TEST_TMP/badhash.txt"
expect_failure "sha256 mismatch" "hello-data" -- \
  "$TEST_TMP/badhash.txt" --base scratch -o "docker-archive:$TEST_TMP/out/img.tar"
