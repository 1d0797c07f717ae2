#!/usr/bin/env bash
# Set-up command 1 of the README: installs the Debian packages, builds build/docker-envs (the CLI
# and the libraries it links, not the tests: scripts/test.sh builds those), and runs the main job
# on the bundled example with no network: examples/conda-hello/make-channel.sh makes a small conda
# channel from Debian's busybox-static, and `docker-envs build` turns the example's
# environment.yml (base `scratch`) into out/conda-hello.tar, a docker-archive tagged
# conda-hello:latest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/install-deps.sh
TARGETS=docker-envs scripts/build.sh
examples/conda-hello/make-channel.sh
mkdir -p out
build/docker-envs build examples/conda-hello/environment.yml -o docker-archive:out/conda-hello.tar
echo "setup: wrote out/conda-hello.tar (conda-hello:latest)"
build/docker-envs image ls docker-archive:out/conda-hello.tar | sed 's/^/  /'
cat <<MSG

Load and run it with a Docker engine:
  docker load -i out/conda-hello.tar
  docker run --rm conda-hello:latest
MSG
