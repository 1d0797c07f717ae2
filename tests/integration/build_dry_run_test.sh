#!/usr/bin/env bash
# `docker-envs build --dry-run` against a channel served over HTTP on 127.0.0.1: the packages
# (name, version, build, url, sha256) and the layers are printed, no package is downloaded and
# nothing is written (no image, no package or layer cache); an environment.yml is solved (its
# repodata fetched) but its packages are not.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache
cd "$TEST_TMP"

ch=$TEST_TMP/channel
pkgs=()
for n in dra drb drc; do
  make_pkg "$ch" noarch "$n" 1.0
  pkgs+=("noarch/$CONDAPKG_LAST.conda")
done
condapkg_index "$ch"
start_channel_server "$ch"
explicit_lock "$ch" "$CHANNEL_URL" "${pkgs[@]}" >lock.txt

log "an @EXPLICIT lock: --dry-run --json"
"$DE_CLI" build lock.txt --base scratch --dry-run --json -o "oci:$TEST_TMP/out:1" >plan.json 2>plan.err ||
  { cat plan.err >&2; die "--dry-run failed"; }
python3 - lock.txt plan.json <<'PY' || die "the plan does not match the lock"
import json, sys
lines = [l.strip() for l in open(sys.argv[1]) if l.startswith("http")]
plan = json.load(open(sys.argv[2]))
assert set(plan) >= {"packages", "pypi", "layers"}, plan.keys()
assert plan["pypi"] == [], plan["pypi"]
want = [(l.split("#")[0], l.split("#")[1]) for l in lines]
got = [(p["url"], p["sha256"]) for p in plan["packages"]]
assert sorted(got) == sorted(want), (got, want)
for p in plan["packages"]:
    assert p["cached"] is False, p
    assert p["name"] and p["version"] == "1.0" and p["build"], p
labels = [l["label"] for l in plan["layers"]]
# per-package while it fits: one layer per package, then the environment-wide one
assert len(labels) == 4 and labels[-1].startswith("environment files"), labels
PY
(( $(channel_requests "\.conda ") == 0 )) || die "--dry-run downloaded packages: $(cat "$CHANNEL_LOG")"
[[ ! -e "$TEST_TMP/out" ]] || die "--dry-run wrote the image"
[[ ! -e "$XDG_CACHE_HOME/docker-envs/pkgs" && ! -e "$XDG_CACHE_HOME/docker-envs/layers" ]] ||
  die "--dry-run wrote to the package or layer cache: $(find "$XDG_CACHE_HOME")"

log "the text form names each package, its url and sha256, and the layers"
"$DE_CLI" build lock.txt --base scratch --dry-run >plan.txt 2>/dev/null || die "--dry-run (text) failed"
text=$(cat plan.txt)
sha=$(grep '^http' lock.txt | head -1 | sed 's/.*#//')
assert_contains "$text" "3 package(s), 0 in the package cache" "package count"
assert_contains "$text" "sha256 $sha" "a package's sha256"
assert_contains "$text" "4 layer(s) on 0 base layer(s) of scratch" "layer count"

log "an environment.yml: solved (repodata fetched), nothing downloaded"
cat >environment.yml <<YML
name: dry
channels: [$CHANNEL_URL]
dependencies: [dra, drb]
image: {base: scratch, layering: {strategy: single}}
YML
: >"$CHANNEL_LOG"
"$DE_CLI" build environment.yml --dry-run --json >solve.json 2>solve.err ||
  { cat solve.err >&2; die "--dry-run of environment.yml failed"; }
python3 - solve.json <<'PY' || die "the solved plan is wrong"
import json, sys
plan = json.load(open(sys.argv[1]))
assert sorted(p["name"] for p in plan["packages"]) == ["dra", "drb"], plan["packages"]
assert all(len(p["sha256"]) == 64 for p in plan["packages"]), plan["packages"]
assert len(plan["layers"]) == 2 and plan["layers"][0]["packages"], plan["layers"]
PY
(( $(channel_requests "repodata") >= 1 )) || die "the solve fetched no repodata"
(( $(channel_requests "\.conda ") == 0 )) || die "--dry-run downloaded packages: $(cat "$CHANNEL_LOG")"
[[ ! -e "$XDG_CACHE_HOME/docker-envs/pkgs" ]] || die "--dry-run wrote to the package cache"

log "after a real build the packages show as cached"
run_cli build lock.txt --base scratch -o "oci:$TEST_TMP/real:1"
"$DE_CLI" build lock.txt --base scratch --dry-run >cached.txt 2>/dev/null || die "--dry-run failed"
assert_contains "$(cat cached.txt)" "3 package(s), 3 in the package cache" "cached count"
log "ok"
