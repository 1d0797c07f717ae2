#!/usr/bin/env bash
# `docker-envs build` benchmarks: each prints its time as a ratio against a baseline measured in the
# same run on the same generated channel (bench/gen_channel), so results compare across machines.
# See bench/README.md ("docker-envs build").
#
#   bench/build.sh [--scale F] [--runs N] [--workdir DIR] [--cli PATH] [--no-docker]
#                  [--big-package FILES] [--only-big] [--no-registry]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1
runs=3
workdir=${TMPDIR:-/tmp}/docker-envs-bench-build
cli=$root/build/docker-envs
use_docker=1
big_files=35000
only_big=0
use_registry=1

while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --no-docker) use_docker=0; shift ;;
    --big-package) big_files=$2; shift 2 ;;
    --only-big) only_big=1; shift ;;
    --no-registry) use_registry=0; shift ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "build.sh: $*" >&2; exit 1; }
for c in tar igzip openssl zstd unzip python3 xargs /usr/bin/time; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found (scripts/install-deps.sh installs it)"
done
[[ -x "$cli" ]] || die "CLI not found at $cli (run scripts/build.sh)"
"$cli" build --help >/dev/null 2>&1 || die "'$cli build' is not available"
gen=$root/build/bench/gen_channel
[[ -x "$gen" ]] || die "$gen not found (scripts/build.sh builds it)"

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
out=$workdir/out
source "$root/bench/lib.sh"
trash_init "$workdir"
trap 'rm -rf "$out" "$trash"; docker_cleanup; registry_cleanup' EXIT
docker_cleanup() { :; }
registry_cleanup() { :; }
jobs=$(nproc)

# The channel (kept between runs) and a second build of one package with one file changed.
channel=$workdir/channel-$scale
if [[ ! -f "$channel.done" ]]; then
  rm -rf "$channel"
  "$gen" --scale "$scale" "$channel" >&2
  touch "$channel.done"
fi
lock=$channel/explicit.txt
# bump_lock LOCK OUT DIR: OUT is LOCK with libffi replaced by a new build of it (one file changed),
# written to DIR.
bump_lock() {
  local victim bumped
  victim=$(grep -m1 '/linux-64/libffi-' "$1" | sed 's|^file://||; s|#.*||') ||
    die "no libffi package in $1"
  bumped=$(python3 "$root/bench/bump_package.py" "$victim" "$3")
  sed "s|^file://$victim#.*|file://$bumped#sha256:$(sha256sum <"$bumped" | cut -c1-64)|" "$1" >"$2"
  cmp -s "$1" "$2" && die "could not substitute the bumped package in $1"
  return 0
}
bump_lock "$lock" "$workdir/explicit-bumped.txt" "$workdir/bumped"
mapfile -t packages <"$channel/packages.txt"
pkg_bytes=$(cat "${packages[@]}" | wc -c)

# measure OUTVAR PREP CMD: runs PREP (untimed), then CMD under GNU time; the median of $runs wall
# times in OUTVAR, the median CPU time (user + sys, with children) in LAST_CPU, max RSS in LAST_RSS.
measure() {
  local -n _secs=$1
  local prep=$2 cmd=$3 i t u s m times=() cpus=() maxrss=0
  for ((i = 0; i < runs; i++)); do
    eval "$prep"
    /usr/bin/time -f '%e %U %S %M' -o "$workdir/time.txt" bash -c "$cmd" >/dev/null 2>"$workdir/stderr.txt" ||
      { cat "$workdir/stderr.txt" >&2; die "command failed: $cmd"; }
    read -r t u s m <"$workdir/time.txt"
    times+=("$t")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
    ((m > maxrss)) && maxrss=$m
  done
  _secs=$(median "${times[@]}")
  LAST_CPU=$(median "${cpus[@]}")
  LAST_RSS=$maxrss
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.1f", 100 * a / b }'; }

results=()
row() { results+=("$1"); echo "$1"; }
report() {  # name ours base target(<=x) ours_cpu base_cpu
  local r c v
  r=$(ratio "$2" "$3")
  c=$(ratio "$5" "$6")
  v=$(awk -v r="$r" -v t="$4" 'BEGIN { print (r != "inf" && r <= t) ? "ok" : "MISSED" }')
  row "$(printf '%-44s %8.2fs %8.2fs %7sx  (target <= %sx) %-6s | cpu %7.2fs %7.2fs %6sx' \
    "$1" "$2" "$3" "$r" "$4" "$v" "$5" "$6" "$c")"
}
report_pct() {  # name ours cold target(<=%) ours_cpu cold_cpu
  local p v
  p=$(pct "$2" "$3")
  v=$(awk -v p="$p" -v t="$4" 'BEGIN { print (p != "inf" && p <= t) ? "ok" : "MISSED" }')
  row "$(printf '%-44s %8.2fs %8.2fs %6s%%  (target <= %s%%) %-6s | cpu %7.2fs %7.2fs' \
    "$1" "$2" "$3" "$p" "$4" "$v" "$5" "$6")"
}

echo "channel: $channel (${#packages[@]} packages, $((pkg_bytes >> 20)) MB of packages); runs: $runs (median); cores: $jobs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "${packages[@]}" >/dev/null  # warm the page cache

build() {  # build LOCK DEST [ARGS...]
  local l=$1 d=$2
  shift 2
  echo "'$cli' build '$l' --base scratch -o '$d' $*"
}
# Cold: empty package cache and layer cache (XDG_CACHE_HOME), nothing at DEST.
cold_prep="retire '$out'; mkdir -p '$out'; settle --drop \"\${packages[@]}\""
export XDG_CACHE_HOME=$out/cache

# The bare pipeline: decompress every package payload (in parallel, like the build's extraction)
# into a directory per package (two tar processes writing one tree race where two packages ship the
# same path: "Cannot create symlink"), then tar | igzip -1 | sha256 over the whole tree.
extract_cmd="printf '%s\n' ${packages[*]@Q} | xargs -P $jobs -I{} sh -c 'd=\$(basename {} .conda); mkdir \"$out/tree/\$d\" && unzip -p {} \"pkg-\$d.tar.zst\" | zstd -dcq | tar -x -C \"$out/tree/\$d\"'"
bare_gz="mkdir -p '$out/tree' && $extract_cmd && tar -cf - -C '$out/tree' . | igzip -1 | openssl dgst -sha256"
bare_tar="mkdir -p '$out/tree' && $extract_cmd && tar -cf - -C '$out/tree' . | openssl dgst -sha256"

echo
printf '%-44s %9s %9s %8s\n' "benchmark (wall time)" "ours" "baseline" "ratio"
if ((!only_big)); then
  measure cold "$cold_prep" "$(build "$lock" "oci:$out/img:1")"
  cold_cpu=$LAST_CPU cold_rss=$LAST_RSS
  measure base "$cold_prep" "$bare_gz"
  report "cold build -> oci (gzip) vs bare pipeline" "$cold" "$base" 1.2 "$cold_cpu" "$LAST_CPU"

  # Warm: the caches of one cold build kept, a new destination each time.
  retire "$out"
  mkdir -p "$out"
  bash -c "$(build "$lock" "oci:$out/seed:1")" >/dev/null 2>&1 || die "the seeding build failed"
  measure warm "retire '$out/img'" "$(build "$lock" "oci:$out/img:1")"
  report_pct "warm rebuild, nothing changed (% of cold)" "$warm" "$cold" 5 "$LAST_CPU" "$cold_cpu"
  same=$(bash -c "'$cli' image inspect oci:$out/img:1" | python3 -c "import json,sys; print(json.load(sys.stdin)['manifest_digest'])")
  seed=$(bash -c "'$cli' image inspect oci:$out/seed:1" | python3 -c "import json,sys; print(json.load(sys.stdin)['manifest_digest'])")
  [[ "$same" == "$seed" ]] || die "the warm rebuild gave another digest ($same vs $seed)"
  measure warm1 "retire '$out/img' '$out/cache.one'; cp -a '$out/cache' '$out/cache.one'; settle" \
    "XDG_CACHE_HOME='$out/cache.one' $(build "$workdir/explicit-bumped.txt" "oci:$out/img:1")"
  report_pct "warm rebuild, one package changed (% of cold)" "$warm1" "$cold" 10 "$LAST_CPU" "$cold_cpu"

  measure cold_da "$cold_prep" "$(build "$lock" "docker-archive:$out/img.tar:bench:1")"
  cold_da_cpu=$LAST_CPU
  measure base_tar "$cold_prep" "$bare_tar"
  report "cold build -> docker-archive vs bare tar|sha256" "$cold_da" "$base_tar" 1.2 "$cold_da_cpu" "$LAST_CPU"
fi

# The registry as the shared cache (docs/cache.md): machine A built with --cache-to (untimed);
# machine B starts with an empty local cache each run and builds with --cache-from, pushing to a
# new repository of the same registry. Baseline: a cold build pushing there (empty cache).
if ((use_registry && !only_big)) && command -v docker-registry >/dev/null; then
  reg_dir=$workdir/registry
  rm -rf "$reg_dir"
  mkdir -p "$reg_dir"
  printf 'version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:0\n' \
    "$reg_dir/storage" >"$reg_dir/config.yml"
  docker-registry serve "$reg_dir/config.yml" >"$reg_dir/log" 2>&1 &
  reg_pid=$!
  registry_cleanup() { kill "$reg_pid" 2>/dev/null; wait "$reg_pid" 2>/dev/null || true; rm -rf "$reg_dir"; return 0; }
  reg_port=
  for _ in $(seq 1 100); do
    reg_port=$(grep -Eo 'listening on 127\.0\.0\.1:[0-9]+' "$reg_dir/log" | head -1 | sed 's/.*://') || true
    [[ -n "$reg_port" ]] && break
    sleep 0.1
  done
  [[ -n "$reg_port" ]] || die "docker-registry did not start: $(cat "$reg_dir/log")"
  reg=docker://127.0.0.1:$reg_port
  # A new repository for each push (expanded when the command runs): nothing to skip there, so a
  # layer is mounted (B) or uploaded (cold).
  new_repo='$(date +%s%N)'
  build_to() { echo "'$cli' build '$1' --base scratch -o \"$2\" ${*:3}"; }
  measure cold_push "$cold_prep" "$(build_to "$lock" "$reg/bench/cold-$new_repo:1")"
  cold_push_cpu=$LAST_CPU
  row "$(printf '%-44s %8.2fs %8s  (the baseline of the two rows below) | cpu %7.2fs' \
    "cold build -> registry (push)" "$cold_push" "" "$cold_push_cpu")"
  retire "$out"
  mkdir -p "$out"
  XDG_CACHE_HOME=$out/cache-a bash -c "$(build "$lock" "$reg/bench/a:1" --cache-to "$reg/bench/cache:env")" >/dev/null 2>&1 ||
    die "machine A's build with --cache-to failed"
  XDG_CACHE_HOME=$out/cache-a bash -c "$(build "$workdir/explicit-bumped.txt" "oci:$out/a-bumped:1")" >/dev/null 2>&1 ||
    die "machine A's bumped build failed"
  measure b_push "retire '$out/cache'; settle --drop \"\${packages[@]}\"" "$(build_to "$lock" "$reg/bench/b-$new_repo:1" --cache-from "$reg/bench/cache:env")"
  report_pct "machine B: empty cache, --cache-from, push (%)" "$b_push" "$cold_push" 10 "$LAST_CPU" "$cold_push_cpu"
  measure b1_push "retire '$out/cache'; settle --drop \"\${packages[@]}\"" \
    "$(build_to "$workdir/explicit-bumped.txt" "$reg/bench/b1-$new_repo:1" --cache-from "$reg/bench/cache:env")"
  report_pct "machine B: one package changed, push (%)" "$b1_push" "$cold_push" 10 "$LAST_CPU" "$cold_push_cpu"
else
  row "machine B (shared cache) rows: skipped (no docker-registry, or --no-registry)"
fi

# The same rows on an environment where one package holds most of the files (--big-package): a
# warm build must not cost in proportion to the files (the image memo reads one entry).
if ((big_files > 0)); then
  big_channel=$workdir/channel-$scale-big$big_files
  if [[ ! -f "$big_channel.done" ]]; then
    rm -rf "$big_channel"
    "$gen" --scale "$scale" --big-package "$big_files" "$big_channel" >&2
    touch "$big_channel.done"
  fi
  big_lock=$big_channel/explicit.txt
  bump_lock "$big_lock" "$workdir/explicit-big-bumped.txt" "$workdir/bumped-big"
  mapfile -t big_packages <"$big_channel/packages.txt"
  cat "${big_packages[@]}" >/dev/null
  big_prep="retire '$out'; mkdir -p '$out'; settle --drop \"\${big_packages[@]}\""
  measure cold_big "$big_prep" "$(build "$big_lock" "oci:$out/img:1")"
  cold_big_cpu=$LAST_CPU
  row "$(printf '%-44s %8.2fs %8s  (the baseline of the two rows below) | cpu %7.2fs' \
    "big package ($big_files files): cold -> oci" "$cold_big" "" "$cold_big_cpu")"
  retire "$out"
  mkdir -p "$out"
  bash -c "$(build "$big_lock" "oci:$out/seed:1")" >/dev/null 2>&1 || die "the seeding build failed"
  measure warm_big "retire '$out/img'" "$(build "$big_lock" "oci:$out/img:1")"
  report_pct "big: warm rebuild, nothing changed (% cold)" "$warm_big" "$cold_big" 5 "$LAST_CPU" "$cold_big_cpu"
  same=$("$cli" image inspect "oci:$out/img:1" | python3 -c "import json,sys; print(json.load(sys.stdin)['manifest_digest'])")
  seed=$("$cli" image inspect "oci:$out/seed:1" | python3 -c "import json,sys; print(json.load(sys.stdin)['manifest_digest'])")
  [[ "$same" == "$seed" ]] || die "the warm rebuild of the big environment gave another digest ($same vs $seed)"
  measure warm1_big "retire '$out/img' '$out/cache.one'; cp -a '$out/cache' '$out/cache.one'; settle" \
    "XDG_CACHE_HOME='$out/cache.one' $(build "$workdir/explicit-big-bumped.txt" "oci:$out/img:1")"
  report_pct "big: warm rebuild, one package changed (% cold)" "$warm1_big" "$cold_big" 10 "$LAST_CPU" "$cold_big_cpu"
fi

if ((use_docker && !only_big)) && [[ -n "${DOCKER_HOST:-}" ]] && command -v docker >/dev/null &&
  timeout 20 docker info >/dev/null 2>&1; then
  # The alternative a user has today: the same environment directory (installed with env install,
  # untimed) copied in by a Dockerfile, then docker build + docker save.
  ctx=$workdir/docker-context
  if [[ ! -f "$ctx.done" ]]; then
    rm -rf "$ctx"
    "$cli" env install --root "$ctx" --cache "$workdir/env-cache" "${packages[@]}" >/dev/null 2>"$workdir/env-install.log" ||
      { cat "$workdir/env-install.log" >&2; die "env install of the channel failed"; }
    printf 'FROM scratch\nCOPY opt/conda /opt/conda\nENV PATH=/opt/conda/bin CONDA_PREFIX=/opt/conda\n' >"$ctx/Dockerfile"
    touch "$ctx.done"
  fi
  # A new tag and --no-cache each run; the images are removed on exit, not between runs (see retire).
  repo=docker-envs-bench/build-$$
  docker_cleanup() { docker images -q "$repo" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true; }
  measure dk "retire '$out'; mkdir -p '$out'" \
    "t=$repo:\$(date +%s%N); DOCKER_BUILDKIT=0 docker build --no-cache -q -t \$t '$ctx' && docker save -o '$out/docker.tar' \$t"
  dk_cpu=$LAST_CPU
  r=$(ratio "$dk" "$cold_da")
  row "$(printf '%-44s %8.2fs %8.2fs %7sx  (target >= 5x faster) %-6s | cpu %7.2fs %7.2fs' \
    "docker build+save vs cold build -> docker-arch" "$dk" "$cold_da" "$r" \
    "$(awk -v r="$r" 'BEGIN { print (r >= 5) ? "ok" : "MISSED" }')" "$dk_cpu" "$cold_da_cpu")"
else
  row "docker build + docker save: skipped (no engine at DOCKER_HOST, or --no-docker)"
fi

echo
((only_big)) || echo "peak RSS of the cold build: $((cold_rss / 1024)) MB"
echo
echo "== summary =="
printf '%s\n' "${results[@]}"
