#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang 16 into build-fuzz/ and runs each for
# SECONDS (default 60). Exits non-zero when a target crashes, printing the input that did it.
#
#   scripts/fuzz.sh            # every target, 60 s each
#   scripts/fuzz.sh 10 tar_reader repodata   # only these targets, 10 s each
#
# Corpora: fuzz/corpus/<target>/ (small hand-written seeds, in git) plus, when ../shared/testdata
# is present, real files from it (prefixed with the selector byte the target expects). What the
# fuzzer learns is kept in build-fuzz/corpus/<target>/ between runs; crash inputs are written to
# build-fuzz/crashes/<target>/.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_CXX (default clang++-16), JOBS (build
# parallelism, default 2), FUZZ_ARGS (extra libFuzzer flags).
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

# -O1 with line tables only: instrumented code compiles much faster than at -O2 -g, and stack
# traces still name file and line.
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER="$cxx" -DDE_FUZZ=ON -DDE_BUILD_TESTS=OFF >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$root"/fuzz/*_fuzz.cpp; do
    name=$(basename "$src" _fuzz.cpp)
    targets+=("$name")
  done
fi
cmake --build "$build_dir" --parallel "${JOBS:-2}" --target "${targets[@]/#/de_fuzz_}"

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

failed=()
for target in "${targets[@]}"; do
  bin="$build_dir/fuzz/de_fuzz_$target"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz.sh: no target $target" >&2
    failed+=("$target (missing)")
    continue
  fi
  corpus="$build_dir/corpus/$target"
  crashes="$build_dir/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  dirs=("$corpus")
  [[ -d "$root/fuzz/corpus/$target" ]] && dirs+=("$root/fuzz/corpus/$target")
  [[ -d "$build_dir/seeds/$target" ]] && dirs+=("$build_dir/seeds/$target")
  log="$build_dir/fuzz-$target.log"
  echo "fuzz.sh: $target for ${seconds}s"
  # One process (no -jobs: libFuzzer would then log to files in the working directory).
  # -rss_limit_mb / -timeout: an input that needs more than 2 GB or 10 s is a finding too.
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} \
    "${dirs[@]}" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz.sh: $target: ok, ${execs:-?} executions"
  else
    tail -40 "$log" >&2
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz.sh: $target: FAILED; input: ${crash:-see $log}" >&2
    failed+=("$target${crash:+ ($crash)}")
  fi
done

if ((${#failed[@]})); then
  printf 'fuzz.sh: %d target(s) failed:\n' "${#failed[@]}" >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s without a crash"
