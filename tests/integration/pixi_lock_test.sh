#!/usr/bin/env bash
# Lock files as pixi and conda-lock write them, over a file:// channel made here:
# - a pixi lock (version 6) with two environments and a package given by a path relative to the
#   lock file: `env install` and `build` take the environment -e names (default: default), from
#   any working directory; an unknown environment is refused, listing the ones there are;
# - a conda-lock v1 with a dev category: `--category dev` adds it to main;
# - a wrong sha256 in the lock fails the install, naming the package, and writes nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache

ch=$TEST_TMP/channel
proj=$TEST_TMP/project
make_pkg "$ch" linux-64 libfoo-bar 1.0
libfoo=linux-64/$CONDAPKG_LAST.conda
make_pkg "$ch" noarch app 2.0 "libfoo-bar >=1"
app=noarch/$CONDAPKG_LAST.tar.bz2
make_pkg "$ch" noarch devtool 0.5
devtool=noarch/$CONDAPKG_LAST.conda
condapkg_index "$ch"
# A package beside the lock, named by a relative path.
CONDAPKG_FORMATS=conda make_pkg "$proj/local" noarch localpkg 0.1
localpkg=local/noarch/$CONDAPKG_LAST.conda

sha() { sha256sum <"$1" | cut -c1-64; }

# pixi_lock SHA_OF_APP: a version 6 lock naming packages by URL (the names come from the file
# names) and by path.
pixi_lock() {
  cat <<EOF
version: 6
environments:
  default:
    channels:
    - url: file://$ch/
    packages:
      linux-64:
      - conda: file://$ch/$app
      - conda: file://$ch/$libfoo
  dev:
    channels:
    - url: file://$ch/
    packages:
      linux-64:
      - conda: file://$ch/$app
      - conda: file://$ch/$devtool
      - conda: file://$ch/$libfoo
      - conda: ./$localpkg
packages:
- conda: file://$ch/$app
  sha256: $1
  depends:
  - libfoo-bar >=1
- conda: file://$ch/$devtool
  sha256: $(sha "$ch/$devtool")
- conda: file://$ch/$libfoo
  sha256: $(sha "$ch/$libfoo")
- conda: ./$localpkg
  sha256: $(sha "$proj/$localpkg")
EOF
}
pixi_lock "$(sha "$ch/$app")" >"$proj/pixi.lock"

log "env install: the default environment"
run_cli env install "$proj/pixi.lock" --root "$TEST_TMP/r1" --cache "$TEST_TMP/pkgs"
for f in share/app/version.txt share/libfoo-bar/version.txt conda-meta/app-2.0-*.json; do
  compgen -G "$TEST_TMP/r1/opt/conda/$f" >/dev/null || die "default environment: no $f"
done
[[ ! -e "$TEST_TMP/r1/opt/conda/share/devtool" ]] || die "devtool is not in the default environment"

log "env install -e dev, from another directory: the path is relative to the lock"
(cd / && run_cli env install "$proj/pixi.lock" -e dev --root "$TEST_TMP/r2" --cache "$TEST_TMP/pkgs")
for f in share/app share/libfoo-bar share/devtool share/localpkg; do
  [[ -d "$TEST_TMP/r2/opt/conda/$f" ]] || die "dev environment: no $f"
done

log "an unknown environment lists the ones there are"
if "$DE_CLI" env install "$proj/pixi.lock" -e prod --root "$TEST_TMP/r3" 2>"$TEST_TMP/err"; then
  die "-e prod was accepted"
fi
assert_contains "$(cat "$TEST_TMP/err")" "no environment 'prod' (the lock has: default, dev)" "error"
[[ ! -e "$TEST_TMP/r3/opt" ]] || die "something was installed for -e prod"

log "build -e dev to an OCI layout"
run_cli build "$proj/pixi.lock" -e dev --base scratch -t pixi-dev:1 -o "oci:$TEST_TMP/img:1"
listing=$("$DE_CLI" image ls "oci:$TEST_TMP/img:1")
for f in opt/conda/share/devtool/version.txt opt/conda/share/localpkg/version.txt \
  opt/conda/conda-meta/libfoo-bar-1.0-; do
  assert_contains "$listing" "$f" "image of -e dev"
done

log "a wrong sha256 is refused, naming the package"
pixi_lock "$(printf '%064d' 0)" >"$proj/bad.lock"
if "$DE_CLI" env install "$proj/bad.lock" --root "$TEST_TMP/r4" --cache "$TEST_TMP/pkgs2" \
  2>"$TEST_TMP/err"; then
  die "a lock with a wrong sha256 installed"
fi
assert_contains "$(cat "$TEST_TMP/err")" "app-2.0-" "error"
[[ ! -e "$TEST_TMP/r4/opt" ]] || die "something was installed from the bad lock"

log "conda-lock v1: --category dev adds to main"
entry() { # NAME VERSION FILE CATEGORY
  cat <<EOF
- name: $1
  version: '$2'
  manager: conda
  platform: linux-64
  dependencies: {}
  url: file://$ch/$3
  hash:
    sha256: $(sha "$ch/$3")
  category: $4
  optional: $([[ $4 == main ]] && echo false || echo true)
EOF
}
{
  printf 'version: 1\nmetadata:\n  content_hash:\n    linux-64: x\n  channels:\n  - url: file://%s\n' "$ch"
  printf '    used_env_vars: []\n  platforms:\n  - linux-64\n  sources: []\npackage:\n'
  entry libfoo-bar 1.0 "$libfoo" main
  entry app 2.0 "$app" main
  entry devtool 0.5 "$devtool" dev
} >"$TEST_TMP/conda-lock.yml"
run_cli env install "$TEST_TMP/conda-lock.yml" --root "$TEST_TMP/r5" --cache "$TEST_TMP/pkgs"
[[ ! -e "$TEST_TMP/r5/opt/conda/share/devtool" ]] || die "dev package installed without --category"
run_cli env install "$TEST_TMP/conda-lock.yml" --category dev --root "$TEST_TMP/r6" --cache "$TEST_TMP/pkgs"
[[ -d "$TEST_TMP/r6/opt/conda/share/devtool" && -d "$TEST_TMP/r6/opt/conda/share/app" ]] ||
  die "--category dev did not install main and dev"

log "a pixi lock of the bundled example: -e picks the environment, docker load + docker run"
make_example_channel "$TEST_TMP/example"
{
  printf 'version: 6\nenvironments:\n  default:\n    channels:\n    - url: file://%s/\n' "$ch"
  printf '    packages:\n      linux-64:\n      - conda: file://%s/%s\n' "$ch" "$libfoo"
  printf '  hello:\n    channels:\n    - url: file://%s/\n    packages:\n      linux-64:\n' \
    "$TEST_TMP/example"
  grep '#' "$TEST_TMP/example/explicit.txt" | grep -v '^#' | while IFS='#' read -r url _; do
    printf '      - conda: %s\n' "$url"
  done
  printf 'packages:\n- conda: file://%s/%s\n  sha256: %s\n' "$ch" "$libfoo" "$(sha "$ch/$libfoo")"
  grep '#' "$TEST_TMP/example/explicit.txt" | grep -v '^#' | while IFS='#' read -r url hash; do
    printf -- '- conda: %s\n  sha256: %s\n' "$url" "$hash"
  done
} >"$TEST_TMP/hello.lock"
run_cli build "$TEST_TMP/hello.lock" -e hello --base scratch -t pixi-hello:1 \
  --entrypoint '["hello"]' -o "docker-archive:$TEST_TMP/hello.tar"
listing=$("$DE_CLI" image ls "docker-archive:$TEST_TMP/hello.tar")
assert_contains "$listing" "opt/conda/bin/hello" "image of -e hello"
if grep -q "libfoo-bar" <<<"$listing"; then die "-e hello holds the default environment's package"; fi
if [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
  loaded=$(docker load -i "$TEST_TMP/hello.tar") || die "docker load refused the image"
  on_exit "docker rmi -f pixi-hello:1 >/dev/null 2>&1"
  assert_contains "$loaded" "pixi-hello:1" "docker load"
  out=$(timeout 120 docker run --rm --network none pixi-hello:1 2>&1) || die "docker run failed: $out"
  assert_contains "$out" "/opt/conda" "docker run output"
else
  log "no Docker engine: docker load + run not checked"
fi
log "ok"
