# Helpers for the integration scripts (tests/integration/*_test.sh). Source it first:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Each script is one ctest test; exit 0 = pass, 77 = skipped (with a reason on stdout), anything
# else = fail. ctest sets DE_CLI (the built binary), DE_SOURCE_DIR, DE_BUILD_DIR and
# DE_TESTDATA_DIR; when run by hand they default to build/docker-envs, the project root, the CLI's
# directory and ../shared/testdata.
# shellcheck shell=bash

set -euo pipefail

DE_SOURCE_DIR=${DE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DE_CLI=${DE_CLI:-$DE_SOURCE_DIR/build/docker-envs}
DE_TESTDATA_DIR=${DE_TESTDATA_DIR:-$DE_SOURCE_DIR/../shared/testdata}
# Reproducible tar timestamps unless a test asks otherwise.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

TEST_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)

log() { echo "[$TEST_NAME] $*"; }

# die MESSAGE: fail the test.
die() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  exit 1
}

# skip REASON: report the test as skipped (ctest SKIP_RETURN_CODE 77).
skip() {
  echo "[$TEST_NAME] SKIP: $*"
  exit 77
}

# need_cmd NAME...: skip when a command is not on PATH.
need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed (scripts/install-deps.sh installs it)"
  done
}

# need_cli [SUBCOMMAND...]: skip when the CLI is not built (a fresh clone run by hand); fail when
# it is built but SUBCOMMAND is missing or broken (its --help fails, or is the parent command's
# help, as CLI11 prints for an unknown subcommand): that is a failure of this build, never a skip.
need_cli() {
  [[ -x "$DE_CLI" ]] || skip "CLI not built at $DE_CLI"
  if (($#)); then
    local help rc=0 line
    help=$("$DE_CLI" "$@" --help 2>&1) || rc=$?
    ((rc == 0)) || die "'docker-envs $* --help' exited $rc (the command is missing or broken): $help"
    while IFS= read -r line; do
      [[ "$line" == "Usage: docker-envs $*" || "$line" == "Usage: docker-envs $* "* ]] && return 0
    done <<<"$help"
    die "'docker-envs $*' is not a command of this build: its --help says: $help"
  fi
}

# need_docker: skip unless a Docker engine answers at DOCKER_HOST (scripts/start-dockerd.sh).
need_docker() {
  need_cmd docker
  [[ -n "${DOCKER_HOST:-}" ]] ||
    skip "DOCKER_HOST is not set (start an engine with: eval \"\$(scripts/start-dockerd.sh)\")"
  timeout 20 docker info >/dev/null 2>&1 || skip "no Docker engine answers at $DOCKER_HOST"
}

# need_testdata: skip when ../shared/testdata is absent (a user's fresh clone).
need_testdata() {
  [[ -d "$DE_TESTDATA_DIR" ]] || skip "shared test data absent at $DE_TESTDATA_DIR"
}

# read_port_file PID FILE OUTPUT NAME: waits (20 s at most) for a server started in the background
# as PID to write its port to FILE, and prints it; dies showing OUTPUT (the server's output) when
# the server exits first or never writes it. The servers bind port 0 and write the port they got,
# so no two tests can race for a port.
read_port_file() {
  local pid=$1 file=$2 output=$3 name=$4 i
  for ((i = 0; i < 200; i++)); do
    [[ -s "$file" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$output" >&2; die "$name exited before serving"; }
    sleep 0.1
  done
  [[ -s "$file" ]] || { cat "$output" >&2; die "$name did not start"; }
  cat "$file"
}

# A per-test scratch directory, removed on exit (kept when DE_KEEP_TMP=1, for debugging).
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/de-$TEST_NAME.XXXXXX")
_cleanup_hooks=()
# on_exit COMMAND: run COMMAND (a string, eval'ed) when the script exits, latest first.
on_exit() { _cleanup_hooks=("$1" "${_cleanup_hooks[@]}"); }
_lib_cleanup() {
  local rc=$? h
  for h in "${_cleanup_hooks[@]}"; do eval "$h" || true; done
  if [[ "${DE_KEEP_TMP:-}" == 1 ]]; then
    echo "[$TEST_NAME] kept $TEST_TMP" >&2
  else
    rm -rf "$TEST_TMP"
  fi
  return $rc
}
trap _lib_cleanup EXIT

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
  [[ "$1" == "$2" ]] || die "${3:-values differ}: expected [$1], got [$2]"
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
  [[ "$1" == *"$2"* ]] || die "${3:-missing text}: [$2] not found in: $1"
}

# assert_file PATH: the path exists.
assert_file() { [[ -e "$1" ]] || die "expected $1 to exist"; }

# run_cli ARGS...: runs docker-envs, failing the test with its stderr when it fails.
run_cli() {
  local err=$TEST_TMP/.cli-stderr rc=0
  "$DE_CLI" "$@" 2>"$err" || rc=$?
  if ((rc != 0)); then
    cat "$err" >&2
    die "docker-envs $* exited $rc"
  fi
}

# make_busybox_rootfs DIR: a minimal root with Debian's static busybox at /bin/busybox and the
# applet symlinks a shell session needs.
make_busybox_rootfs() {
  local dir=$1 a
  local bb=/bin/busybox
  [[ -x $bb ]] || skip "busybox-static is not installed"
  file_is_static "$bb" || skip "$bb is not statically linked (install busybox-static)"
  mkdir -p "$dir/bin"
  cp "$bb" "$dir/bin/busybox"
  for a in sh ls cat echo pwd env readlink stat id wc grep ln test; do
    ln -s busybox "$dir/bin/$a"
  done
}

# file_is_static PATH: true when an ELF binary has no program interpreter (no PT_INTERP).
file_is_static() {
  command -v readelf >/dev/null 2>&1 || return 0  # cannot tell; busybox-static is what we install
  ! readelf -lW "$1" 2>/dev/null | grep -q 'INTERP'
}
