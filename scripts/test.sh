#!/usr/bin/env bash
# THE test command (README, .ci/run): installs dependencies, builds, runs every test (unit and
# integration, the latter against a private Docker engine when one can be started), then builds the
# unit tests and the fuzz targets once, with clang 16 and AddressSanitizer +
# UndefinedBehaviorSanitizer, runs the unit tests there, then runs each fuzz target for a few
# seconds (scripts/fuzz.sh). Exits non-zero when any step fails; later steps still run so that one
# report shows everything.
#
# Environment: BUILD_DIR (default build), ASAN_BUILD_DIR (default build-asan; the fuzz targets are
# built there too), JOBS, FUZZ_JOBS (fuzz targets run at once, default 2),
# DE_SKIP_ASAN=1 to leave out the sanitizer pass, DE_SKIP_FUZZ=1 to leave out the fuzz step
# (DE_FUZZ_SECONDS per target, default 10), DE_NO_DOCKERD=1 to not start a Docker engine
# (the tests that need one then use $DOCKER_HOST if it answers, or skip), DE_NO_INSTALL=1 to not
# touch apt.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export BUILD_DIR=${BUILD_DIR:-build}
asan_dir=${ASAN_BUILD_DIR:-build-asan}
ctest_jobs=${CTEST_JOBS:-2}

failures=()
# Each step header carries the seconds since the start, so a CI log shows where the time goes.
step() { printf '\n==== %s (at %ds) ====\n' "$*" "$SECONDS"; }
fail() {
  echo "test.sh: FAILED: $*" >&2
  failures+=("$*")
}

step "dependencies"
if [[ "${DE_NO_INSTALL:-}" != 1 ]]; then
  scripts/install-deps.sh
fi

step "build ($BUILD_DIR)"
if ! scripts/build.sh; then
  fail "build"
  # Without a build nothing else can run.
  exit 1
fi

# Node test harness (conda solver vectors shared with other tools), when the project carries one.
harness=tests/conda/rattler
if [[ -f "$harness/package.json" ]]; then
  step "node harness ($harness)"
  if ! command -v npm >/dev/null 2>&1; then
    fail "npm not found for $harness"
  elif [[ -f "$harness/package-lock.json" ]]; then
    (cd "$harness" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in $harness"
  else
    (cd "$harness" && npm install --no-audit --no-fund --loglevel=error) || fail "npm install in $harness"
  fi
fi

# Real-engine tests: a private dockerd, stopped again whatever happens below.
started_dockerd=0
cleanup() {
  if ((started_dockerd)); then
    scripts/stop-dockerd.sh || true
  fi
}
trap cleanup EXIT
if [[ "${DE_NO_DOCKERD:-}" != 1 ]]; then
  step "docker engine"
  if export_line=$(scripts/start-dockerd.sh); then
    started_dockerd=1
    eval "$export_line"
    echo "using $DOCKER_HOST"
  else
    echo "test.sh: no Docker engine could be started; tests that need one will skip" >&2
  fi
fi
# (With DE_NO_DOCKERD=1, or when the start fails, an engine the caller named in DOCKER_HOST is used
# if it answers.)

# Totals over every ctest run, for the closing line.
total_passed=0 total_failed=0 total_skipped=0
logs_dir=$(mktemp -d)
# run_ctest NAME ARGS...: runs ctest with ARGS, keeping its output to count the results.
run_ctest() {
  local log="$logs_dir/$1.log" rc=0 total failed skipped
  shift
  ctest "$@" 2>&1 | tee "$log" || rc=$?
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  skipped=$(grep -c '(Skipped)$' "$log" || true)
  if [[ -n "$total" ]]; then
    total_passed=$((total_passed + total - failed - skipped))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
  fi
  return $rc
}

step "tests: unit + integration ($BUILD_DIR)"
run_ctest main --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j"$ctest_jobs" ||
  fail "ctest ($BUILD_DIR)"

# The engine is not needed any more; free its memory before the sanitizer build.
cleanup
started_dockerd=0

# One sanitizer build for the next two steps: clang 16, ASan+UBSan, every object also instrumented
# for libFuzzer (scripts/build.sh SANITIZE=1), so the unit tests and the fuzz targets share the
# compiled libraries instead of compiling the sources twice.
if [[ "${DE_SKIP_ASAN:-}" != 1 ]]; then
  step "build with ASan+UBSan, clang 16, fuzz targets too ($asan_dir)"
  if BUILD_DIR="$asan_dir" SANITIZE=1 scripts/build.sh; then
    # The lint tests (label lint) check sources, not code; they ran in the step above. Left out
    # here too: the three solver comparisons over large real and generated channels (conda's and
    # rattler's test indexes, a conda-forge-sized channel). They check answers, which the step
    # above did, and took 330 s of this step's 860; the smaller solver comparisons
    # (Expectations.Sudoku, SolverRattler.RandomRepositories, ...) run the same code under the
    # sanitizers.
    step "unit tests under ASan+UBSan ($asan_dir)"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      run_ctest asan --test-dir "$asan_dir" -L unit -LE lint --output-on-failure --no-tests=error \
      -E '^(Expectations\.AllSuites|SolverRattler\.(CondaTestIndexes|GeneratedCondaForgeLikeChannel))$' \
      -j"$ctest_jobs" || fail "ctest -L unit -LE lint ($asan_dir)"
  else
    fail "build ($asan_dir)"
  fi
fi

# Fuzzing, briefly: each libFuzzer target (fuzz/) for DE_FUZZ_SECONDS (default 10) on its seeds
# and what earlier runs learned, two at a time. Longer runs are by hand: scripts/fuzz.sh 300.
if [[ "${DE_SKIP_FUZZ:-}" != 1 ]]; then
  step "fuzz (scripts/fuzz.sh ${DE_FUZZ_SECONDS:-10}, in $asan_dir)"
  # A fixed seed: from a clean clone the same inputs are tried on every run, so CI goes red for a
  # change, not for what a random seed happened to find (longer runs by hand use random seeds).
  FUZZ_BUILD_DIR="$asan_dir" FUZZ_ARGS=${FUZZ_ARGS:--seed=1} scripts/fuzz.sh "${DE_FUZZ_SECONDS:-10}" ||
    fail "fuzz (scripts/fuzz.sh)"
fi

step "summary"
echo "test.sh: ${SECONDS}s in all"
rm -rf "$logs_dir"
if ((${#failures[@]})); then
  printf 'test.sh: %d step(s) failed:\n' "${#failures[@]}"
  printf '  - %s\n' "${failures[@]}"
  echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
  exit 1
fi
echo "test.sh: all steps passed"
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
