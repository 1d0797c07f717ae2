#!/usr/bin/env bash
# Set-up command 1 of the README: installs the Debian packages, builds build/docker-envs, and runs
# the main job on the bundled example with no network: builds out/hello.tar (busybox + a script,
# from scratch, without Docker). Until `docker-envs build` exists, the main job edits an image.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh
examples/hello/make-image.sh
