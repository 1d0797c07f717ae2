#!/usr/bin/env bash
# The README's main job keeps working: examples/hello/make-image.sh builds its image offline, twice
# with the same digest, and (when an engine is available) the image loads and runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli image add-layer
need_cli image config
need_cmd busybox

script=$DE_SOURCE_DIR/examples/hello/make-image.sh
DE_CLI=$DE_CLI bash "$script" "$TEST_TMP/one/hello.tar" >"$TEST_TMP/make.log" 2>&1 ||
  { cat "$TEST_TMP/make.log" >&2; die "make-image.sh failed"; }
DE_CLI=$DE_CLI bash "$script" "$TEST_TMP/two/hello.tar" >/dev/null 2>&1 || die "make-image.sh failed the second time"
cmp -s "$TEST_TMP/one/hello.tar" "$TEST_TMP/two/hello.tar" || die "two runs of make-image.sh wrote different archives"

listing=$("$DE_CLI" image ls "docker-archive:$TEST_TMP/one/hello.tar")
assert_contains "$listing" "bin/busybox" "image ls"
assert_contains "$listing" "app/hello.sh" "image ls"

if [[ -n "${DOCKER_HOST:-}" ]] && timeout 20 docker info >/dev/null 2>&1; then
  docker load -i "$TEST_TMP/one/hello.tar" >/dev/null || die "docker load refused out/hello.tar"
  on_exit "docker rmi -f hello:latest >/dev/null 2>&1"
  out=$(timeout 120 docker run --rm --network none hello:latest 2>&1) || die "docker run failed: $out"
  assert_contains "$out" "Hello from docker-envs!" "container output"
  assert_contains "$out" "working directory: /app" "container output"
  log "built, loaded and ran hello:latest"
else
  log "built hello.tar twice, identically (no Docker engine: not run)"
fi
