#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang 16 into build-fuzz/ and runs each for
# SECONDS (default 60), FUZZ_JOBS (default 2) targets at a time. Exits non-zero when a target
# crashes, printing the input that did it.
#
#   scripts/fuzz.sh            # every target, 60 s each
#   scripts/fuzz.sh 10 tar_reader repodata   # only these targets, 10 s each
#
# Corpora: fuzz/corpus/<target>/ (small hand-written seeds, in git) plus, when ../shared/testdata
# is present, real files from it (prefixed with the selector byte the target expects). What the
# fuzzer learns is kept in build-fuzz/corpus/<target>/ between runs; crash inputs are written to
# build-fuzz/crashes/<target>/.
#
# The build is scripts/build.sh's sanitizer configuration (SANITIZE=1), the one scripts/test.sh
# builds its ASan+UBSan unit tests with; test.sh passes FUZZ_BUILD_DIR=build-asan, so that the
# targets come out of the build it already made.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_CXX (default clang++-16), JOBS (build
# parallelism, default 2), FUZZ_JOBS (targets run at once, default 2), FUZZ_ARGS (extra libFuzzer
# flags).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift || true
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
cxx=${FUZZ_CXX:-clang++-16}
testdata="$root/../shared/testdata"

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz.sh: $cxx not found (apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 1
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$root"/fuzz/*_fuzz.cpp; do
    name=$(basename "$src" _fuzz.cpp)
    targets+=("$name")
  done
fi
# Only the targets and the module libraries they link (never the CLI or the tests).
BUILD_DIR="$build_dir" SANITIZE=1 SANITIZE_CXX="$cxx" JOBS="${JOBS:-2}" \
  TARGETS="${targets[*]/#/de_fuzz_}" "$root/scripts/build.sh"

# seed_from TARGET PREFIX_BYTE FILE...: copies files (< 1 MiB) into the target's extra seed
# directory, each preceded by PREFIX_BYTE (an octal escape, or "" for none).
seed_from() {
  local target=$1 prefix=$2 f n=0
  shift 2
  local dir="$build_dir/seeds/$target"
  mkdir -p "$dir"
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    (($(stat -c %s "$f") < 1048576)) || continue
    n=$((n + 1))
    { [[ -z "$prefix" ]] || printf "$prefix"; cat "$f"; } >"$dir/${prefix:+p${prefix#\\}-}$(basename "$f")"
  done
}

# Real files from ../shared/testdata as extra seeds (read, never written to by the fuzzer).
prepare_seeds() {
  rm -rf "$build_dir/seeds"
  mkdir -p "$build_dir/seeds"
  [[ -d "$testdata" ]] || return 0
  shopt -s nullglob globstar
  local d="$testdata/docker"
  seed_from tar_reader "" "$d"/layers/*.tar "$d"/docker-archive/**/*.tar
  seed_from image_archive '\000' "$d"/docker-archive/**/*.tar
  seed_from image_archive '\001' "$d"/oci-archive/**/*.tar
  seed_from oci_json '\000' "$d"/manifests/**/*.json
  seed_from oci_json '\001' "$d"/manifests/**/*index*.json "$d"/manifests/**/*list*.json
  seed_from oci_json '\002' "$testdata"/docker/oci-layout/*/blobs/sha256/*
  seed_from repodata "" "$testdata"/conda-solver/repodata/**/*.json
  seed_from environment_yml "" "$testdata"/env-files/**/*.yml "$testdata"/env-files/**/env*.yaml
  seed_from lockfile '\000' "$testdata"/env-files/**/*explicit*
  seed_from lockfile '\001' "$testdata"/env-files/**/*lock*.y*ml
  seed_from package_info "" "$testdata"/conda-packages/metadata/*paths.json
  shopt -u nullglob globstar
}
prepare_seeds

# run_target TARGET: one libFuzzer process (no -jobs: libFuzzer would then log to files in the
# working directory); on a crash, writes the failure line to $build_dir/fuzz-TARGET.failed.
run_target() {
  local target=$1
  local bin="$build_dir/fuzz/de_fuzz_$target" corpus="$build_dir/corpus/$target"
  local crashes="$build_dir/crashes/$target" log="$build_dir/fuzz-$target.log" execs crash
  mkdir -p "$corpus" "$crashes"
  local dirs=("$corpus")
  [[ -d "$root/fuzz/corpus/$target" ]] && dirs+=("$root/fuzz/corpus/$target")
  [[ -d "$build_dir/seeds/$target" ]] && dirs+=("$build_dir/seeds/$target")
  # -rss_limit_mb / -timeout: an input that needs more than 2 GB or 10 s is a finding too.
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} \
    "${dirs[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz.sh: $target: ok, ${execs:-?} executions"
  else
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    # One write, so that the report of a target running beside it does not cut into it.
    printf '%s\nfuzz.sh: %s: FAILED; input: %s\n' "$(tail -40 "$log")" "$target" \
      "${crash:-see $log}" >&2
    echo "$target${crash:+ ($crash)}" >"$build_dir/fuzz-$target.failed"
  fi
}

# FUZZ_JOBS targets at a time, each a single process for SECONDS: on two cores, two targets run
# as long and as fast as one alone, in half the wall time.
fuzz_jobs=${FUZZ_JOBS:-2}
failed=()
rm -f "$build_dir"/fuzz-*.failed
for target in "${targets[@]}"; do
  if [[ ! -x "$build_dir/fuzz/de_fuzz_$target" ]]; then
    echo "fuzz.sh: no target $target" >&2
    failed+=("$target (missing)")
    continue
  fi
  while (($(jobs -rp | wc -l) >= fuzz_jobs)); do wait -n || true; done
  echo "fuzz.sh: $target for ${seconds}s"
  run_target "$target" &
done
wait
for target in "${targets[@]}"; do
  f="$build_dir/fuzz-$target.failed"
  [[ -f "$f" ]] && failed+=("$(cat "$f")")
done

if ((${#failed[@]})); then
  printf 'fuzz.sh: %d target(s) failed:\n' "${#failed[@]}" >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a crash"
