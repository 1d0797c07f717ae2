#!/usr/bin/env bash
# Configures and builds docker-envs with Ninja. The CLI ends up at <build dir>/docker-envs.
#
#   scripts/build.sh                  # build/ : optimised with debug info, warnings are errors
#   BUILD_DIR=build-gcc-asan scripts/build.sh -DDE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug  # gcc
#
#   TARGETS=docker-envs scripts/build.sh   # only the CLI (what scripts/setup.sh builds)
#
#   SANITIZE=1 BUILD_DIR=build-asan scripts/build.sh   # the sanitizer build of scripts/test.sh
#
# Extra arguments are passed to the CMake configure step. BUILD_TYPE overrides the build type;
# TARGETS (space-separated) limits the build to those targets (default: everything, tests too).
#
# SANITIZE=1 is the one sanitizer configuration, shared by scripts/test.sh (the unit tests under
# ASan+UBSan) and scripts/fuzz.sh (the libFuzzer targets): clang 16 (SANITIZE_CXX), -DDE_FUZZ=ON
# (ASan+UBSan and libFuzzer's coverage on every object), so that one build dir serves both and the
# sources are compiled once, not twice. Debug (-O0 -g), except the code the fuzz targets run, which
# CMakeLists.txt builds at -O1 in such a build (DE_FUZZ).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-build}
[[ "$build_dir" = /* ]] || build_dir="$root/$build_dir"
build_type=${BUILD_TYPE:-RelWithDebInfo}
jobs=${JOBS:-$(nproc)}

config=()
if [[ "${SANITIZE:-}" == 1 ]]; then
  cxx=${SANITIZE_CXX:-clang++-16}
  if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "build.sh: $cxx not found (apt-get install clang-16 libclang-rt-16-dev)" >&2
    exit 1
  fi
  # A dir configured for another compiler (an old gcc build-asan) is configured afresh.
  cache="$build_dir/CMakeCache.txt"
  if [[ -f "$cache" ]] && ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$(command -v "$cxx")" "$cache"; then
    rm -rf "$cache" "$build_dir/CMakeFiles"
  fi
  build_type=Debug
  config=(-DCMAKE_CXX_COMPILER="$cxx" -DDE_FUZZ=ON)
fi

cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DDE_WERROR=ON \
  "${config[@]}" \
  "$@"
targets=()
for t in ${TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" --parallel "$jobs" "${targets[@]}"
echo "build: $build_dir/docker-envs"
