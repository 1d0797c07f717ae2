#!/usr/bin/env bash
# docker://REF works as the source and the destination of every image command, not only of
# pull/push: edit an image straight from one registry repository into another.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
need_cli image add-layer
need_cmd docker-registry

start_registry plain
reg=127.0.0.1:$REG_PORT
export XDG_CACHE_HOME=$TEST_TMP/cache
cd "$TEST_TMP"

mkdir -p root/app && echo hello >root/app/hello.txt && ln -s hello.txt root/app/link
run_cli image add-layer scratch "docker://$reg/demo/app:1" --dir root
run_cli image ls "docker://$reg/demo/app:1" >ls.txt
assert_eq $'app/\napp/hello.txt\napp/link' "$(cat ls.txt)" "image ls of a pushed image"

run_cli image config "docker://$reg/demo/app:1" "docker://$reg/demo/app:2" --env GREETING=hi \
  --label org.example.kind=test
run_cli image inspect "docker://$reg/demo/app:2" >inspect.json
assert_contains "$(cat inspect.json)" '"GREETING=hi"'
assert_contains "$(cat inspect.json)" 'org.example.kind'

run_cli image copy "docker://$reg/demo/app:2" oci:layout:v2
run_cli image ls oci:layout:v2 >ls2.txt
assert_eq "$(cat ls.txt)" "$(cat ls2.txt)" "copy from the registry keeps the filesystem"

# Removing the only layer and pushing the result, then reading it back.
run_cli image remove-layer "docker://$reg/demo/app:2" "docker://$reg/demo/empty:1"
run_cli image ls "docker://$reg/demo/empty:1" >ls3.txt
assert_eq "" "$(cat ls3.txt)" "an image without layers lists nothing"
log "ok"
