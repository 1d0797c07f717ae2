#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and benchmarking docker-envs need.
# Idempotent: when every package is already installed, apt is not touched at all (no network).
# docs/dependencies.md says why each package is here.
set -euo pipefail

# Build: compiler, build system and the C/C++ libraries we link.
build_pkgs=(
  cmake ninja-build g++ pkg-config
  libssl-dev libarchive-dev libisal-dev libzstd-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev
  libcurl4-openssl-dev libsimdjson-dev libyaml-cpp-dev libsolv-dev libsolvext-dev
)
# Tests and benchmarks: real consumers and baselines the integration tests and bench/ run.
tool_pkgs=(
  isal zstd docker.io skopeo umoci busybox-static docker-registry apache2-utils
  hyperfine time tar ca-certificates python3 openssl bzip2 zip unzip
  python3-pip python3-pip-whl python3-setuptools-whl python3-wheel-whl
  zsh fish groff-base tmux
)
# The sanitizer build and fuzzing (SANITIZE=1 scripts/build.sh, scripts/fuzz.sh): clang 16 and its
# libFuzzer/sanitizer runtimes. Debian's default clang 14 cannot compile libstdc++ 12's <expected>.
fuzz_pkgs=(clang-16 libclang-rt-16-dev)
pkgs=("${build_pkgs[@]}" "${tool_pkgs[@]}" "${fuzz_pkgs[@]}")

# Node.js drives the conda test harness (tests/conda/rattler). Some machines already carry a Node
# from another packaging (with its own npm); installing Debian's npm on top of that conflicts, so
# Debian's nodejs/npm are only asked for when no node is on PATH.
if ! command -v node >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: node is present but npm is not; the node test harness will be skipped" >&2
fi

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=()
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# --no-install-recommends keeps the machine lean; everything we need is named explicitly above.
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
