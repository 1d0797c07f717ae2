#!/usr/bin/env bash
# Configures and builds docker-envs with Ninja. The CLI ends up at <build dir>/docker-envs.
#
#   scripts/build.sh                  # build/ : optimised with debug info, warnings are errors
#   BUILD_DIR=build-asan scripts/build.sh -DDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
#
# Extra arguments are passed to the CMake configure step. BUILD_TYPE overrides the build type.
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
cmake --build "$build_dir" --parallel "$jobs"
echo "build: $build_dir/docker-envs"
