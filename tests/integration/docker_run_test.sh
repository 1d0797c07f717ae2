#!/usr/bin/env bash
# The real engine accepts what we write: an image made from `scratch` + a busybox layer + an added
# directory (with a symlink and a hardlink) + config edits, written as a docker-archive, is loaded
# by `docker load` and run by `docker run --network none`; the entrypoint sees the env and workdir
# we set, the symlink and hardlink survive, and the labels show in `docker inspect`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli image add-layer
need_cli image config
need_docker

cd "$TEST_TMP"
make_busybox_rootfs busybox

# The added directory: a script, a symlink, a hardlinked pair, an empty directory.
mkdir -p app/data app/work app/empty
printf 'payload\n' >app/data/target.txt
ln -s data/target.txt app/link
printf 'same inode\n' >app/data/hard1
ln app/data/hard1 app/data/hard2
cat >app/check.sh <<'SH'
#!/bin/sh
echo "greeting=$GREETING"
echo "pwd=$(pwd)"
echo "link=$(readlink /app/link)"
echo "link-content=$(cat /app/link)"
i1=$(stat -c %i /app/data/hard1); i2=$(stat -c %i /app/data/hard2)
[ "$i1" = "$i2" ] && echo "hardlink=same" || echo "hardlink=different"
echo "nlink=$(stat -c %h /app/data/hard1)"
[ -d /app/empty ] && echo "empty-dir=yes"
echo "args=$*"
SH
chmod 755 app/check.sh

run_cli image add-layer scratch "oci:$TEST_TMP/s1" --dir "busybox:/"
run_cli image add-layer "oci:$TEST_TMP/s1" "oci:$TEST_TMP/s2" --dir "app:/app"
tag="docker-envs-test/docker-run:$$"
run_cli image config "oci:$TEST_TMP/s2" "docker-archive:$TEST_TMP/img.tar:$tag" \
  --env PATH=/bin \
  --env "GREETING=hello from docker-envs" \
  --workdir /app/work \
  --entrypoint '["/bin/sh","/app/check.sh"]' \
  --cmd '["default-arg"]' \
  --label test.kind=integration \
  --label "test.spaces=a b c" \
  --expose 8080/tcp

load_out=$(docker load -i img.tar 2>&1) || die "docker load refused the archive: $load_out"
on_exit "docker rmi -f '$tag' >/dev/null 2>&1"
assert_contains "$load_out" "$tag" "docker load output"

out=$(timeout 120 docker run --rm --network none "$tag" 2>&1) || die "docker run failed: $out"
log "container printed:"$'\n'"$out"
expected="greeting=hello from docker-envs
pwd=/app/work
link=data/target.txt
link-content=payload
hardlink=same
nlink=2
empty-dir=yes
args=default-arg"
assert_eq "$expected" "$out" "container output"

# Arguments after the image replace the cmd, not the entrypoint.
out=$(timeout 120 docker run --rm --network none "$tag" x y 2>&1) || die "docker run with args failed: $out"
assert_contains "$out" "args=x y" "cmd override"

assert_eq "integration" "$(docker inspect --format '{{index .Config.Labels "test.kind"}}' "$tag")" "label test.kind"
assert_eq "a b c" "$(docker inspect --format '{{index .Config.Labels "test.spaces"}}' "$tag")" "label test.spaces"
assert_eq "/app/work" "$(docker inspect --format '{{.Config.WorkingDir}}' "$tag")" "workdir"
assert_contains "$(docker inspect --format '{{json .Config.ExposedPorts}}' "$tag")" '"8080/tcp"' "exposed port"
assert_eq "2" "$(docker inspect --format '{{len .RootFS.Layers}}' "$tag")" "layer count"

log "docker load + run OK"
