#!/usr/bin/env bash
# Repodata parse benchmark: Repodata::load of generated conda-forge-sized repodata.json files
# (bench/gen_repodata) in MB/s, against simdjson's own DOM parse of the same file in the same run
# (bench/repodata_bench.cpp says what each side does). See bench/README.md.
#
#   bench/repodata.sh [--scale F] [--runs N] [--workdir DIR]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1
seed=42
runs=5
workdir=${TMPDIR:-/tmp}/docker-envs-bench

while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "repodata.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "repodata.sh: $*" >&2; exit 1; }
gen=$root/build/bench/gen_repodata
bench=$root/build/bench/repodata_bench
[[ -x "$gen" && -x "$bench" ]] || die "build/bench/gen_repodata or repodata_bench missing (run scripts/build.sh)"

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
# The same generated channel as bench/solve.sh uses.
channel=$workdir/repodata-$scale-$seed
if [[ ! -f "$channel.done" || "$gen" -nt "$channel.done" ]]; then
  rm -rf "$channel"
  "$gen" --scale "$scale" --seed "$seed" "$channel" >&2
  touch "$channel.done"
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
for subdir in linux-64 noarch; do
  "$bench" --runs "$runs" "$channel/$subdir/repodata.json"
  echo
done
