#!/usr/bin/env bash
# `docker-envs build` on the bundled example (examples/conda-hello), offline, from the @EXPLICIT
# lock of its local channel with flags that say what its environment.yml's image: section says:
# the image holds the environment under /opt/conda with its
# conda-meta records and the config the image: section declares; two builds in two empty caches give
# the same digest and bytes; `env install` of the same packages gives the same files as the image;
# and (when an engine is up) `docker run --network none` runs bin/hello, whose prefix-replaced
# script prints /opt/conda and reads the file its dependency ships.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build

ex=$TEST_TMP/example
mkdir -p "$ex"
make_example_channel "$ex/channel"
cp "$EXAMPLE_DIR/environment.yml" "$ex/"

# The image: section of examples/conda-hello/environment.yml, as flags.
flags=(--base scratch -t conda-hello:latest --prefix /opt/conda --entrypoint '["hello"]'
  --env GREETING_FROM=docker-envs --label org.opencontainers.image.title=conda-hello
  --label "org.opencontainers.image.description=busybox and a prefix-relocated script, from a local conda channel")
lock=$ex/channel/explicit.txt

log "build (cold cache)"
XDG_CACHE_HOME=$TEST_TMP/cache1 run_cli build "$lock" "${flags[@]}" -o "docker-archive:$TEST_TMP/one.tar"
assert_file "$TEST_TMP/one.tar"

listing=$("$DE_CLI" image ls "docker-archive:$TEST_TMP/one.tar")
for p in opt/conda/bin/hello opt/conda/bin/busybox opt/conda/bin/sh \
  opt/conda/share/hello-data/greeting.txt opt/conda/conda-meta/history; do
  grep -qx "/\?$p" <<<"$listing" || die "$p missing from the image: $listing"
done
for rec in busybox-1.35 hello-data-1.0 hello-1.0; do
  grep -q "^/\?opt/conda/conda-meta/${rec}[^/]*\.json$" <<<"$listing" ||
    die "no conda-meta record for $rec in the image"
done

log "config from the image: section"
ref=docker-archive:$TEST_TMP/one.tar
assert_eq '["hello"]' "$(inspect "$ref" "json.dumps(j['config']['config'].get('Entrypoint'))")" "entrypoint"
envs=$(inspect "$ref" "j['config']['config'].get('Env', [])")
assert_contains "$envs" "GREETING_FROM=docker-envs" "image env"
assert_contains "$envs" "CONDA_PREFIX=/opt/conda" "image env"
grep -q '^PATH=/opt/conda/bin' <<<"$envs" || die "PATH does not start with the prefix's bin: $envs"
assert_eq conda-hello "$(inspect "$ref" "j['config']['config']['Labels']['org.opencontainers.image.title']")" "title label"

log "a second build in another empty cache gives the same image"
XDG_CACHE_HOME=$TEST_TMP/cache2 run_cli build "$lock" "${flags[@]}" -o "docker-archive:$TEST_TMP/two.tar"
assert_eq "$(inspect "$ref" "j['manifest_digest']")" \
  "$(inspect "docker-archive:$TEST_TMP/two.tar" "j['manifest_digest']")" "manifest digest of two cold builds"
cmp -s "$TEST_TMP/one.tar" "$TEST_TMP/two.tar" || die "two cold builds wrote different archives"

log "the environment.yml (solved) gives the same layers and config as its lock with flags"
XDG_CACHE_HOME=$TEST_TMP/cache1 run_cli build "$ex/environment.yml" -o "docker-archive:$TEST_TMP/yml.tar"
yml=docker-archive:$TEST_TMP/yml.tar
# The same layers with the same files; only the conda-meta records differ (the solve records the
# requested spec and repodata's md5, a lock has neither).
n=$(inspect "$ref" "len(j['layers'])")
assert_eq "$n" "$(inspect "$yml" "len(j['layers'])")" "number of layers of the lock and the environment.yml builds"
for ((i = 0; i < n - 1; i++)); do
  assert_eq "$("$DE_CLI" image ls --long --layer "$i" "$ref" | grep -v conda-meta/)" \
    "$("$DE_CLI" image ls --long --layer "$i" "$yml" | grep -v conda-meta/)" "layer $i of the lock and environment.yml builds"
done
# Everything but the spec hash (the inputs differ: a lock vs specs).
config="json.dumps({**j['config']['config'], 'Labels': {k: v for k, v in j['config']['config']['Labels'].items() if not k.endswith('spec-hash')}}, sort_keys=True)"
assert_eq "$(inspect "$ref" "$config")" "$(inspect "$yml" "$config")" "config of both builds"
assert_eq "['conda-hello:latest']" "$(inspect "$yml" "str(j['names'])")" "image name from the image: section"

log "env install of the same packages gives the same files"
extract_image "$ref" "$TEST_TMP/image-root"
pkgs=()
for rec in "$TEST_TMP"/image-root/opt/conda/conda-meta/*.json; do
  dist=$(basename "$rec" .json)
  f=$(find "$ex/channel" -name "$dist.conda")
  [[ -n "$f" ]] || die "the image's $dist is not in the channel"
  pkgs+=("$f")
done
((${#pkgs[@]} == 3)) || die "expected 3 packages in the image, found ${#pkgs[@]}"
# Install order: dependencies first (busybox, hello-data, hello).
ordered=()
for n in busybox- hello-data- hello-1.; do
  for f in "${pkgs[@]}"; do [[ $(basename "$f") == "$n"* ]] && ordered+=("$f"); done
done
run_cli env install --root "$TEST_TMP/env-root" --cache "$TEST_TMP/cache-env" "${ordered[@]}"
diff -r --no-dereference -x conda-meta "$TEST_TMP/env-root/opt/conda" "$TEST_TMP/image-root/opt/conda" >&2 ||
  die "env install and the image differ"
assert_eq "$(ls "$TEST_TMP/env-root/opt/conda/conda-meta")" "$(ls "$TEST_TMP/image-root/opt/conda/conda-meta")" \
  "conda-meta file names"
assert_eq "$(cd "$TEST_TMP/env-root" && find . -printf '%y %m %p\n' | sort | grep -v conda-meta)" \
  "$(cd "$TEST_TMP/image-root" && find . -printf '%y %m %p\n' | sort | grep -v conda-meta)" "types and modes"
image_files=$(grep -v conda-meta <<<"$listing" | sed 's|^/||; s|/$||' | sort)
host_files=$(cd "$TEST_TMP/env-root" && find . -mindepth 1 | sed 's|^\./||' | grep -v conda-meta | sort)
assert_eq "$host_files" "$image_files" "image ls vs the env install tree"

if [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  log "docker load + docker run --network none"
  loaded=$(docker load -i "$TEST_TMP/one.tar") || die "docker load refused the image"
  on_exit "docker rmi -f conda-hello:latest >/dev/null 2>&1"
  assert_contains "$loaded" "conda-hello:latest" "docker load"
  out=$(timeout 120 docker run --rm --network none conda-hello:latest 2>&1) || die "docker run failed: $out"
  assert_contains "$out" "hello: my environment is /opt/conda" "container output"
  assert_contains "$out" "hello-data says: Hello from a conda environment" "container output"
  log "ran: ${out%%$'\n'*}"
else
  log "no Docker engine: built and compared, not run"
fi
