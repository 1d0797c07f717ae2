#!/usr/bin/env bash
# Install benchmark: `docker-envs env install` of a generated channel of .conda packages (extract
# into an empty package cache, then lay the environment out) against extracting the same packages
# with `unzip -p | zstd -d | tar -x`, measured in the same run. See bench/README.md.
#
#   bench/install.sh [--scale F] [--runs N] [--workdir DIR] [--cli PATH] [--gen PATH]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1
runs=3
workdir=${TMPDIR:-/tmp}/docker-envs-bench
cli=$root/build/docker-envs
gen=$root/build/bench/gen_channel

while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --gen) gen=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "install.sh: $*" >&2; exit 1; }
for c in unzip zstd tar /usr/bin/time; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found (scripts/install-deps.sh installs it)"
done
[[ -x "$cli" ]] || die "CLI not found at $cli (run scripts/build.sh)"
[[ -x "$gen" ]] || die "gen_channel not found at $gen (run scripts/build.sh)"

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
out=$workdir/install-out
source "$root/bench/lib.sh"
trash_init "$workdir"
trap 'rm -rf "$out" "$trash"' EXIT

channel=$workdir/channel-$scale
if [[ ! -f "$channel.done" ]]; then
  rm -rf "$channel"
  "$gen" --scale "$scale" "$channel" >&2
  touch "$channel.done"
fi
mapfile -t pkgs <"$channel/packages.txt"

# measure OUTVAR PREP CMD: median wall time of $runs runs of CMD (PREP untimed before each);
# the median CPU time (user + sys, with children) is left in LAST_CPU.
measure() {
  local -n _secs=$1
  local prep=$2 cmd=$3 i t u s times=() cpus=()
  for ((i = 0; i < runs; i++)); do
    eval "$prep"
    /usr/bin/time -f '%e %U %S' -o "$workdir/time.txt" bash -c "$cmd" >/dev/null 2>"$workdir/stderr.txt" ||
      { cat "$workdir/stderr.txt" >&2; die "command failed: $cmd"; }
    read -r t u s <"$workdir/time.txt"
    times+=("$t")
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
  done
  _secs=$(median "${times[@]}")
  LAST_CPU=$(median "${cpus[@]}")
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "inf" && r <= t) ? "ok" : "MISSED" }'; }
report() {  # name ours_wall base_wall target ours_cpu base_cpu
  local r c
  r=$(ratio "$2" "$3")
  c=$(ratio "$5" "$6")
  printf '%-40s %8.2fs %8.2fs %7sx  (target <= %sx) %-6s | cpu %7.2fs %7.2fs %6sx\n' \
    "$1" "$2" "$3" "$r" "$4" "$(verdict "$r" "$4")" "$5" "$6" "$c"
}

# The baseline: every package's two tars (info and payload) into one directory per package, as
# a cache holds them, one package after the other (each pipeline runs three processes at once).
cat >"$workdir/baseline.sh" <<'SH'
set -eo pipefail
dest=$1
shift
for p in "$@"; do
  d=$dest/$(basename "$p" .conda)
  mkdir -p "$d"
  unzip -p "$p" 'info-*.tar.zst' | zstd -dcq | tar -xf - -C "$d"
  unzip -p "$p" 'pkg-*.tar.zst' | zstd -dcq | tar -xf - -C "$d"
done
SH

cat "${pkgs[@]}" >/dev/null  # warm the page cache so the first timed run is not special
files=$(wc -l <"$channel/packages.txt")
echo "channel: $channel ($(du -sh "$channel" | cut -f1), $files packages); runs: $runs (median); load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %9s %9s %8s  %-25s | %-13s %8s %7s\n" "benchmark (wall time)" "ours" "baseline" "ratio" "" "cpu: ours" "baseline" "ratio"

pkg_args=$(printf "'%s' " "${pkgs[@]}")
measure ours "retire '$out'; mkdir -p '$out'; settle --drop \"\${pkgs[@]}\"" \
  "'$cli' env install --root '$out/root' --cache '$out/cache' $pkg_args"
cpu_ours=$LAST_CPU
entries=$(find "$out/root" | wc -l)
measure base "retire '$out'; mkdir -p '$out'; settle --drop \"\${pkgs[@]}\"" "bash '$workdir/baseline.sh' '$out/base' $pkg_args"
report "env install (cold cache) vs unzip|zstd|tar" "$ours" "$base" 1.0 "$cpu_ours" "$LAST_CPU"
# The same install from a warm cache: only the layout step (the cache already holds the packages).
retire "$out"
mkdir -p "$out"
"$cli" env install --root "$out/root" --cache "$out/cache" "${pkgs[@]}" 2>/dev/null
measure warm "retire '$out/root'" "'$cli' env install --root '$out/root' --cache '$out/cache' $pkg_args"
report "env install (warm cache) vs unzip|zstd|tar" "$warm" "$base" 1.0 "$LAST_CPU" "$cpu_ours"
echo "(installed $entries paths; cpu ratio of the warm row is against the cold install)"
