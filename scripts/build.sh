#!/usr/bin/env bash
# Configures and builds docker-envs with Ninja. The CLI ends up at <build dir>/docker-envs.
#
#   scripts/build.sh                  # build/ : optimised with debug info, warnings are errors
#   BUILD_DIR=build-asan scripts/build.sh -DDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
#
#   TARGETS=docker-envs scripts/build.sh   # only the CLI (what scripts/setup.sh builds)
#
# Extra arguments are passed to the CMake configure step. BUILD_TYPE overrides the build type;
# TARGETS (space-separated) limits the build to those targets (default: everything, tests too).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
build_type=${BUILD_TYPE:-RelWithDebInfo}
jobs=${JOBS:-$(nproc)}

cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DDE_WERROR=ON \
  "$@"
targets=()
for t in ${TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" --parallel "$jobs" "${targets[@]}"
echo "build: $build_dir/docker-envs"
