#!/usr/bin/env bash
# Checks that check_includes.sh catches each kind of violation and accepts a clean tree, so that a
# broken lint cannot pass silently.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

put() { mkdir -p "$(dirname "$tmp/$1")"; printf '%s\n' "$2" >"$tmp/$1"; }
reset() { rm -rf "${tmp:?}"/*; put include/docker_envs/base/error.hpp '#include <string>'; }

expect() {  # expect pass|fail description
  local want=$1 what=$2 out rc=0
  out=$(bash "$here/check_includes.sh" "$tmp" 2>&1) || rc=$?
  if [[ "$want" == pass && $rc -ne 0 ]] || [[ "$want" == fail && $rc -eq 0 ]]; then
    echo "selftest: expected $want for: $what; got exit $rc:"
    echo "$out"
    exit 1
  fi
  echo "ok: $what"
}

reset
put include/docker_envs/oci/image.hpp '#include "docker_envs/base/error.hpp"'
put src/oci/image.cpp $'#include "docker_envs/oci/image.hpp"\n#include "ffi/archive.hpp"\n#include <archive.h>'
put src/cli/main.cpp $'#include "docker_envs/conda/lock.hpp"\n#include "docker_envs/oci/image.hpp"\n#include "cli/common.hpp"'
put src/oci/layout_read.cpp $'#include "oci/stored_layer.hpp"\n#include "ffi/compress.hpp"'
put src/registry/push.cpp $'#include "docker_envs/oci/layer_blob.hpp"\n#include "registry/blob_transfer.hpp"\n#include "ffi/http.hpp"'
expect pass "clean tree (own private headers, ffi where allowed, public headers of others)"

reset
put src/oci/image.cpp '#include "docker_envs/conda/lock.hpp"'
expect fail "oci includes conda"

reset
put src/conda/lock.cpp '  #  include <docker_envs/oci/image.hpp>'
expect fail "conda includes oci (spaces, angle brackets)"

reset
put include/docker_envs/oci/image.hpp '#include <archive.h>'
expect fail "public header includes <archive.h>"

reset
put include/docker_envs/registry/client.hpp '#include <curl/curl.h>'
expect fail "public header includes <curl/curl.h>"

reset
put include/docker_envs/base/digest.hpp '#include <openssl/evp.h>'
expect fail "public header includes <openssl/evp.h>"

reset
put include/docker_envs/conda/solver.hpp '#include <solv/pool.h>'
expect fail "public header includes <solv/pool.h>"

reset
put include/docker_envs/base/compression.hpp '#include <zstd.h>'
expect fail "public header includes <zstd.h>"

reset
put include/docker_envs/base/compression.hpp '#include <isa-l/igzip_lib.h>'
expect fail "public header includes <isa-l/igzip_lib.h>"

reset
put include/docker_envs/oci/layer.hpp '#include "ffi/compress.hpp"'
expect fail "public header includes a private ffi header"

reset
put src/base/io.cpp '#include "docker_envs/oci/image.hpp"'
expect fail "base includes oci"

reset
put src/registry/push.cpp '#include "docker_envs/build/plan.hpp"'
expect fail "registry includes build"

reset
put src/registry/pull.cpp '#include "oci/stored_layer.hpp"'
expect fail "registry includes a private oci header"

reset
put src/registry/push.cpp '#include <oci/image_writer.hpp>'
expect fail "registry includes a private oci header (angle brackets)"

reset
put src/build/builder.cpp '#include "conda/solver_internal.hpp"'
expect fail "build includes a private conda header"

reset
put src/cli/image_pull.cpp '#include "registry/transport.hpp"'
expect fail "cli includes a private registry header"

reset
put src/conda/solver.cpp '#include "base/io_internal.hpp"'
expect fail "conda includes a private base header"

reset
put src/oci/image.cpp '#include "registry/transport.hpp"'
expect fail "oci includes a private registry header (direction and privacy)"

echo "selftest: all cases behave"
