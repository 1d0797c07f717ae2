#!/usr/bin/env bash
# `docker-envs build` with the network stack, all on loopback: a base image pulled from the test
# registry (docker-registry), the result pushed with `-o docker://`, and the example's
# environment.yml solved against its channel served over HTTP (tests/support/channel_server.py). The base's layers are the image's
# bottom layers; `docker pull` + `docker run --network none` runs bin/hello from the prefix (the
# prefix-replaced script prints /opt/env and reads hello-data's file) next to the base's own /bin.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/support/registry.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
need_cli image push
need_cmd docker-registry
export XDG_CACHE_HOME=$TEST_TMP/cache

start_registry reg
REG=127.0.0.1:$REG_PORT

log "base image: busybox at /bin, pushed to the registry"
make_busybox_rootfs "$TEST_TMP/base-root"
echo "from the base image" >"$TEST_TMP/base-root/base.txt"
run_cli image add-layer scratch "oci:$TEST_TMP/base:1" --dir "$TEST_TMP/base-root:/"
run_cli image config "oci:$TEST_TMP/base:1" "oci:$TEST_TMP/base2:1" --env PATH=/bin --env FROM_BASE=yes
run_cli image push "oci:$TEST_TMP/base2:1" "docker://$REG/test/base:1"
base_layers=$(layer_digests "oci:$TEST_TMP/base2:1")

log "the example's channel"
make_example_channel "$TEST_TMP/channel"
lock=$TEST_TMP/channel/explicit.txt
flags=(--base "$REG/test/base:1" --prefix /opt/env --cmd '["hello"]' --env FROM_ENV=yes)

log "build -> docker://"
run_cli build "$lock" "${flags[@]}" -o "docker://$REG/test/hello:1"
((${#base_layers} > 0)) || die "no base layers"

log "pull it back: the base's layers at the bottom, the environment under /opt/env"
run_cli image pull "docker://$REG/test/hello:1" "oci:$TEST_TMP/pulled:1"
pulled_layers=$(layer_digests "oci:$TEST_TMP/pulled:1")
[[ "$pulled_layers" == "$base_layers"$'\n'* ]] || die "the base's layers are not the bottom of the image"
listing=$("$DE_CLI" image ls "oci:$TEST_TMP/pulled:1" | sed 's|^/||')
for p in base.txt bin/busybox opt/env/bin/hello opt/env/share/hello-data/greeting.txt; do
  grep -qx "$p" <<<"$listing" || die "$p missing from the pushed image"
done
grep -q '^opt/env/conda-meta/hello-1.0-.*\.json$' <<<"$listing" || die "no conda-meta record for hello"
envs=$(inspect "oci:$TEST_TMP/pulled:1" "j['config']['config'].get('Env', [])")
assert_contains "$envs" "PATH=/opt/env/bin:/bin" "PATH: the prefix's bin first, the base's PATH kept"
assert_contains "$envs" "FROM_BASE=yes" "base env kept"
assert_contains "$envs" "FROM_ENV=yes" "env from the image: section"

log "environment.yml over an HTTP channel, on the registry's base"
start_channel_server "$TEST_TMP/channel"
export XDG_CACHE_HOME=$TEST_TMP/cache-http  # packages not yet in any cache: downloaded over HTTP
cat >"$TEST_TMP/environment.yml" <<YAML
name: hello-http
channels:
  - $CHANNEL_URL
dependencies:
  - hello
image:
  base: $REG/test/base:1
  name: hello-http:1
  prefix: /opt/env
  cmd: ["hello"]
YAML
# On a terminal (script(1) gives the build a pty) with -v, each download stays as a line with its
# bytes above the live region (the escape sequences that redraw it are removed here).
script -qefc "'$DE_CLI' build -v '$TEST_TMP/environment.yml' -o 'docker-archive:$TEST_TMP/http.tar'" \
  "$TEST_TMP/progress.txt" </dev/null >/dev/null || die "the HTTP build failed: $(cat "$TEST_TMP/progress.txt")"
progress=$(tr -d '\r' <"$TEST_TMP/progress.txt" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g')
grep -Eq '^\[fetch\] downloaded hello-1\.0-he7deeb07_0\.conda \([0-9.]+ (B|KiB|MiB)\)$' <<<"$progress" ||
  die "no download line for hello on the terminal: $progress"
assert_contains "$progress" "3 package(s): 3 downloaded (" "download summary on the terminal"
for p in 'GET /noarch/repodata.json 200' 'GET /linux-64/repodata.json 200' \
  'GET /noarch/hello-1.0-he7deeb07_0.conda 200' 'GET /linux-64/busybox-.*\.conda 200'; do
  [[ $(channel_requests "$p") == 1 ]] || die "expected one '$p' in the channel log: $(cat "$CHANNEL_LOG")"
done
[[ $(inspect "docker-archive:$TEST_TMP/http.tar" "len(j['layers'])") -gt 2 ]] || die "too few layers"
grep -qx 'opt/env/bin/hello' < <("$DE_CLI" image ls "docker-archive:$TEST_TMP/http.tar" | sed 's|^/||') ||
  die "bin/hello missing from the HTTP build"
log "a rebuild revalidates the repodata (304) and downloads no package again"
run_cli build "$TEST_TMP/environment.yml" -o "docker-archive:$TEST_TMP/http2.tar" --json >"$TEST_TMP/http2.json"
downloads=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['packages_downloaded'])" "$TEST_TMP/http2.json")
[[ $downloads == 0 ]] || die "the rebuild reports $downloads download(s)"
[[ $(channel_requests 'GET /noarch/repodata.json 304') == 1 ]] || die "noarch repodata not revalidated: $(cat "$CHANNEL_LOG")"
[[ $(channel_requests '\.conda 200') == 3 ]] || die "packages downloaded again: $(cat "$CHANNEL_LOG")"
cmp -s "$TEST_TMP/http.tar" "$TEST_TMP/http2.tar" || die "the rebuild wrote a different archive"

log "a private channel (/t/TOKEN/): the token reaches no byte of the image"
token=tk-$RANDOM-secret
start_channel_server "$TEST_TMP/channel" --token "$token"
export XDG_CACHE_HOME=$TEST_TMP/cache-token
sed "s|^  - http://127.0.0.1:[0-9]*\$|  - $CHANNEL_URL|; s|^  base: .*|  base: scratch|" \
  "$TEST_TMP/environment.yml" >"$TEST_TMP/private.yml"
grep -q "/t/$token" "$TEST_TMP/private.yml" || die "the private channel is not in private.yml"
out=$("$DE_CLI" build "$TEST_TMP/private.yml" -o "docker-archive:$TEST_TMP/private.tar" 2>&1) ||
  die "build from the private channel failed: $out"
[[ $out != *"$token"* ]] || die "the build printed the token: $out"
[[ $(channel_requests 'GET /t/<token>/noarch/hello-1.0-he7deeb07_0.conda 200') == 1 ]] ||
  die "hello not downloaded through the token URL: $(cat "$CHANNEL_LOG")"
# docker-archive layers are uncompressed tars: a plain byte search covers every file and the config.
! grep -q -a -- "$token" "$TEST_TMP/private.tar" || die "the token is in the image"
meta=$(tar -xOf "$TEST_TMP/private.tar" --wildcards '*/layer.tar' | tar -xOif - --wildcards \
  'opt/env/conda-meta/hello-1.0-*.json')
assert_contains "$meta" "\"url\": \"http://127.0.0.1:$CHANNEL_PORT/noarch/hello-1.0-he7deeb07_0.conda\"" \
  "conda-meta url without the token"

if ! { [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }; then
  log "no Docker engine: pushed and pulled back, not run"
  exit 0
fi
log "docker pull + docker run --network none"
docker pull "$REG/test/hello:1" >/dev/null || die "docker pull failed"
on_exit "docker rmi -f $REG/test/hello:1 >/dev/null 2>&1"
out=$(timeout 120 docker run --rm --network none "$REG/test/hello:1" 2>&1) || die "docker run failed: $out"
assert_contains "$out" "hello: my environment is /opt/env" "container output"
assert_contains "$out" "hello-data says: Hello from a conda environment" "container output"
out=$(timeout 120 docker run --rm --network none "$REG/test/hello:1" cat /base.txt 2>&1) || die "docker run cat failed: $out"
assert_contains "$out" "from the base image" "the base's files"
docker load -i "$TEST_TMP/http.tar" >/dev/null || die "docker load refused the HTTP build"
on_exit "docker rmi -f hello-http:1 >/dev/null 2>&1"
out=$(timeout 120 docker run --rm --network none hello-http:1 2>&1) || die "docker run failed: $out"
assert_contains "$out" "hello: my environment is /opt/env" "container output (HTTP channel build)"
assert_contains "$out" "hello-data says: Hello from a conda environment" "container output (HTTP channel build)"
log "pushed, pulled and ran: the base from the registry, the environment on top, from an HTTP channel"
