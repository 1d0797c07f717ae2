#!/usr/bin/env bash
# For every archive in the shared test data that the real engine loads, the merged filesystem that
# `docker-envs image ls` prints must equal the file list of `docker export` of the loaded image
# (minus the few paths the engine itself adds to every container). Archives that are broken on
# purpose must be refused with a message and a non-zero exit.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli image ls
need_testdata
need_docker

dir=$DE_TESTDATA_DIR/docker/docker-archive
# archive|selector for our CLI|name docker gives the loaded image
cases=(
  "ggcr/test_image_1.tar||bazel/v1/tarball:test_image_1"
  "ggcr/test_image_2.tar||bazel/v1/tarball:test_image_2"
  "ggcr/test_link.tar|:bazel/v1/tarball:test_image_3|bazel/v1/tarball:test_image_3"
  "ggcr/mutate_whiteout_image.tar||bazel/pkg/v1/mutate:whiteout_image"
  "ggcr/mutate_whiteout_dir.tar||localhost:5000/whiteout:latest"
  "ggcr/mutate_overwritten_file.tar||bazel/pkg/v1/mutate:overwritten_file"
  "ggcr/mutate_source_image.tar||bazel/pkg/v1/mutate:source_image"
  "containers-image/almostempty.tar||emptyimage:latest"
  "dive/test-docker-image.tar||dive-test:latest"
  "dive/test-kaniko-image.tar||dive-test:kaniko-latest"
)

# Paths the engine creates in every container, whatever the image holds.
engine_paths='^(\.dockerenv|dev|dev/.*|proc|sys|etc|etc/hostname|etc/hosts|etc/resolv\.conf|etc/mtab)$'

normalise() { sed -e 's|^\./||' -e 's|^/||' -e 's|/$||' | grep -v '^$' | grep -Ev "$engine_paths" | LC_ALL=C sort -u; }

for c in "${cases[@]}"; do
  IFS='|' read -r file selector name <<<"$c"
  log "$file"
  docker load -i "$dir/$file" >/dev/null
  id=$(docker create "$name" /nonexistent)
  docker export "$id" | tar -t | normalise >"$TEST_TMP/docker.txt"
  docker rm "$id" >/dev/null
  run_cli image ls "docker-archive:$dir/$file$selector" >"$TEST_TMP/ours.raw"
  normalise <"$TEST_TMP/ours.raw" >"$TEST_TMP/ours.txt"
  if ! diff -u "$TEST_TMP/docker.txt" "$TEST_TMP/ours.txt" >"$TEST_TMP/diff.txt"; then
    head -40 "$TEST_TMP/diff.txt" >&2
    die "$file: image ls differs from docker export"
  fi
done

# Broken on purpose: a clear refusal, non-zero exit.
for file in ggcr/null_manifest.tar; do
  if "$DE_CLI" image ls "docker-archive:$dir/$file" >/dev/null 2>"$TEST_TMP/err.txt"; then
    die "$file was accepted"
  fi
  assert_contains "$(cat "$TEST_TMP/err.txt")" "manifest.json is null"
done
log "ok"
