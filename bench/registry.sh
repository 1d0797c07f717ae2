#!/usr/bin/env bash
# Registry benchmark: push and pull a ~500 MB, 20-layer image to and from docker-registry on
# 127.0.0.1, against `skopeo copy` of the same image in the same run (each tool gets its own fresh
# registry and empty caches, so neither can mount or skip what the other uploaded), plus the time
# of a no-change re-push. Prints seconds and ratios (ours / skopeo; < 1 means faster).
#
#   bench/registry.sh [--mb-per-layer N] [--layers N] [--runs N] [--workdir DIR] [--cli PATH]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mb=25
layers=20
runs=3
workdir=${TMPDIR:-/tmp}/docker-envs-bench-registry
cli=$root/build/docker-envs
while (($#)); do
  case $1 in
    --mb-per-layer) mb=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "registry.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "registry.sh: $*" >&2; exit 1; }
for c in docker-registry skopeo python3; do command -v $c >/dev/null || die "$c is not installed"; done
[[ -x $cli ]] || die "no CLI at $cli (scripts/build.sh)"

mkdir -p "$workdir"
export DE_SOURCE_DIR=$root TEST_TMP=$workdir/run
rm -rf "$TEST_TMP"
mkdir -p "$TEST_TMP"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TEST_TMP"; }
trap cleanup EXIT
on_exit() { :; }  # registries are stopped by cleanup()
log() { echo "[registry-bench] $*" >&2; }
source "$root/tests/support/registry.sh"

# The image: layers of half random, half repetitive bytes (compressible like real files), built once
# and kept in $workdir/image (an OCI layout; layers gzip).
image=$workdir/image
tag="l${layers}x${mb}"
if ! python3 -c "import json,sys; sys.exit(0 if any(m.get('annotations',{}).get('org.opencontainers.image.ref.name')=='$tag' for m in json.load(open('$image/index.json'))['manifests']) else 1)" 2>/dev/null; then
  log "building a $layers-layer image of ~$((layers * mb)) MB"
  prev=scratch
  for i in $(seq 1 "$layers"); do
    d=$workdir/layer$i
    rm -rf "$d"
    mkdir -p "$d"
    head -c $((mb * 512 * 1024)) /dev/urandom >"$d/random.bin"
    (yes "layer $i line of text that repeats" || true) | head -c $((mb * 512 * 1024)) >"$d/text.txt"
    "$cli" -q image add-layer "$prev" --dir "$d:/data/$i" "oci:$image:$tag-$i"
    prev=oci:$image:$tag-$i
    rm -rf "$d"
  done
  "$cli" -q image copy "$prev" "oci:$image:$tag"
fi
size=$(du -sm "$image" | cut -f1)
log "image: $layers layers, ${size} MB stored"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A t
for run in $(seq 1 "$runs"); do
  start_registry "ours$run"; ours=127.0.0.1:$REG_PORT; pids+=("$REG_PID")
  start_registry "skopeo$run"; theirs=127.0.0.1:$REG_PORT; pids+=("$REG_PID")
  export XDG_CACHE_HOME=$TEST_TMP/cache$run DOCKER_CONFIG=$TEST_TMP/docker HOME=$TEST_TMP/home$run
  mkdir -p "$HOME"
  # skopeo keeps a blob-info cache (for mounts) in /var/lib/containers when root: point it at a
  # fresh directory with --blob-cache... is not an option; separate registries make it moot.
  a=$(now); "$cli" -q image push "oci:$image:$tag" "docker://$ours/bench/img:1"; b=$(now)
  t[push_ours]+="$(awk "BEGIN{print $b - $a}") "
  a=$(now); skopeo copy -q --dest-tls-verify=false "oci:$image:$tag" "docker://$theirs/bench/img:1" >/dev/null; b=$(now)
  t[push_skopeo]+="$(awk "BEGIN{print $b - $a}") "
  a=$(now); "$cli" -q image push "oci:$image:$tag" "docker://$ours/bench/img:1"; b=$(now)
  t[repush_ours]+="$(awk "BEGIN{print $b - $a}") "
  export XDG_CACHE_HOME=$TEST_TMP/pullcache$run
  a=$(now); "$cli" -q image pull "docker://$ours/bench/img:1" "oci:$TEST_TMP/pulled-ours$run"; b=$(now)
  t[pull_ours]+="$(awk "BEGIN{print $b - $a}") "
  a=$(now); skopeo copy -q --src-tls-verify=false "docker://$theirs/bench/img:1" "oci:$TEST_TMP/pulled-skopeo$run" >/dev/null; b=$(now)
  t[pull_skopeo]+="$(awk "BEGIN{print $b - $a}") "
  rm -rf "$TEST_TMP/pulled-ours$run" "$TEST_TMP/pulled-skopeo$run" "$TEST_TMP/ours$run" "$TEST_TMP/skopeo$run" "$TEST_TMP/cache$run" "$TEST_TMP/pullcache$run"
done
m() { tr ' ' '\n' <<<"${t[$1]}" | grep . | median; }
printf '%-28s %8s %8s %7s\n' "benchmark (median of $runs)" ours skopeo ratio
for op in push pull; do
  o=$(m ${op}_ours); s=$(m ${op}_skopeo)
  printf '%-28s %7.2fs %7.2fs %6.2fx\n' "$op ${size} MB, $layers layers" "$o" "$s" "$(awk "BEGIN{print $o / $s}")"
done
printf '%-28s %7.2fs %8s %7s\n' "no-change re-push" "$(m repush_ours)" "-" "(target < 1 s)"
