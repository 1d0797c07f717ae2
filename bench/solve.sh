#!/usr/bin/env bash
# Solver benchmark: load + solve a data-science request against generated conda-forge-sized
# repodata (bench/gen_repodata), cold (parsing included) and warm (parsed-repodata cache), next to
# rattler's simpleSolve on the same channel in the same run. See bench/README.md.
#
#   bench/solve.sh [--scale F] [--seed N] [--runs N] [--workdir DIR] [--cli PATH] [--keep]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=1
seed=1
runs=3
workdir=${TMPDIR:-/tmp}/docker-envs-bench
cli=$root/build/docker-envs
keep=0

while (($#)); do
  case $1 in
    --scale) scale=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "solve.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "solve.sh: $*" >&2; exit 1; }
for c in node python3 /usr/bin/time; do
  command -v "$c" >/dev/null 2>&1 || die "$c not found"
done
harness=$root/tests/conda/rattler
[[ -f $harness/node_modules/@conda-org/rattler/package.json ]] ||
  die "rattler is not installed: run 'npm ci' in $harness"
[[ -x "$cli" ]] || die "CLI not found at $cli (run scripts/build.sh)"
"$cli" solve --help >/dev/null 2>&1 || die "'$cli solve' is not available"

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
out=$workdir/solve-out
rm -rf "$out"
mkdir -p "$out"
((keep)) || trap 'rm -rf "$out"' EXIT

# The repodata generator: the one CMake built, or compiled here.
gen=$root/build/bench/gen_repodata
if [[ ! -x "$gen" ]]; then
  gen=$workdir/gen_repodata
  if [[ ! -x "$gen" || "$root/bench/gen_repodata.cpp" -nt "$gen" ]]; then
    g++ -std=c++2b -O2 -o "$gen" "$root/bench/gen_repodata.cpp"
  fi
fi
name=repodata-$scale-$seed
channel=$workdir/$name
if [[ ! -f "$channel.done" || "$gen" -nt "$channel.done" ]]; then
  rm -rf "$channel"
  "$gen" --scale "$scale" --seed "$seed" "$channel" >&2
  touch "$channel.done"
fi
mapfile -t specs <"$channel/datascience.txt"
records=$(python3 -c '
import json, sys
n = 0
for f in sys.argv[1:]:
    d = json.load(open(f))
    n += len(d.get("packages", {})) + len(d.get("packages.conda", {}))
print(n)' "$channel/linux-64/repodata.json" "$channel/noarch/repodata.json")
size_mb=$(du -cm "$channel/linux-64/repodata.json" "$channel/noarch/repodata.json" | tail -1 | cut -f1)
cat /proc/loadavg >"$out/load-before"

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.2f", a / b }'; }

# ours_solve OUTFILE: one `docker-envs solve --json` into OUTFILE under GNU time; appends the
# wall and CPU seconds to the arrays named by $wall_var and $cpu_var.
cache=$out/repodata-cache
ours_solve() {
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$cli" solve -c "$channel" --repodata-cache "$cache" --json "${specs[@]}" >"$1" 2>"$out/stderr.txt" ||
    { cat "$out/stderr.txt" >&2; die "docker-envs solve failed"; }
  read -r t u s m <"$out/time.txt"
  LAST_WALL=$t
  LAST_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  LAST_RSS=$m
}

cold=() cold_cpu=() warm=() warm_cpu=() rss_cold=0 rss_warm=0
for ((i = 0; i < runs; i++)); do
  rm -rf "$cache"
  ours_solve "$out/ours.json"
  cold+=("$LAST_WALL") cold_cpu+=("$LAST_CPU")
  ((LAST_RSS > rss_cold)) && rss_cold=$LAST_RSS
  ours_solve "$out/ours-warm.json"
  warm+=("$LAST_WALL") warm_cpu+=("$LAST_CPU")
  ((LAST_RSS > rss_warm)) && rss_warm=$LAST_RSS
done
cmp -s "$out/ours.json" "$out/ours-warm.json" || die "the warm solve gave a different answer than the cold one"

# rattler: one fresh node process per run (nothing cached between runs), each solving the request
# twice: the first call is cold (fetch over loopback, parse, solve), the second shows what rattler
# keeps in memory between calls. The times are measured inside node around simpleSolve, so node's
# start-up and the wasm module's load are not counted against rattler.
request=$(python3 -c 'import json, sys; print(json.dumps({"channels": [sys.argv[1]], "specs": sys.argv[2:]}))' \
  "$name" "${specs[@]}")
r_cold=() r_warm=() r_cpu=()
for ((i = 0; i < runs; i++)); do
  printf '%s\n%s\n' "$request" "$request" >"$out/requests.jsonl"
  (cd "$harness" && /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    node rattler_solve.mjs "$workdir" <"$out/requests.jsonl" >"$out/rattler.jsonl" 2>"$out/stderr.txt") ||
    { cat "$out/stderr.txt" >&2; die "rattler_solve.mjs failed"; }
  read -r t u s m <"$out/time.txt"
  r_cpu+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
  mapfile -t ms < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    if not a["ok"]:
        sys.exit("rattler: " + a["error"])
    print(a["ms"] / 1000)' "$out/rattler.jsonl")
  r_cold+=("${ms[0]}") r_warm+=("${ms[1]}")
done
cat /proc/loadavg >"$out/load-after"

# Compare the two answers.
summary=$(python3 - "$out/ours.json" "$out/rattler.jsonl" "${specs[@]}" <<'EOF'
import json, re, sys
ours = {p["name"]: p for p in json.load(open(sys.argv[1]))["packages"]}
theirs = {p["name"]: p for p in json.loads(open(sys.argv[2]).readline())["packages"]}
requested = [re.split(r"[ =<>!]", s, maxsplit=1)[0] for s in sys.argv[3:]]
same = sum(1 for n, p in ours.items() if n in theirs and (p["version"], p["build"]) == (theirs[n]["version"], theirs[n]["build"]))
print(f"packages: ours {len(ours)}, rattler {len(theirs)}; identical records {same}")
diff = [n for n in requested if n in ours and n in theirs and ours[n]["version"] != theirs[n]["version"]]
for n in diff:
    print(f"  requested {n}: ours {ours[n]['version']}, rattler {theirs[n]['version']}")
only = sorted(set(ours) ^ set(theirs))
if only:
    print("  in one solution only: " + " ".join(n + ("(ours)" if n in ours else "(rattler)") for n in only[:20]))
EOF
)

c=$(median "${cold[@]}") cc=$(median "${cold_cpu[@]}")
w=$(median "${warm[@]}") wc=$(median "${warm_cpu[@]}")
rc=$(median "${r_cold[@]}") rw=$(median "${r_warm[@]}") rcpu=$(median "${r_cpu[@]}")
echo "channel: $channel ($records records, $size_mb MB of repodata.json); request: ${#specs[@]} specs"
echo "runs: $runs (median); load average before/after: $(cut -d' ' -f1-3 "$out/load-before") / $(cut -d' ' -f1-3 "$out/load-after")"
echo "$summary"
echo
printf '%-44s %9s %9s %8s\n' "benchmark (wall time)" "ours" "rattler" "ratio"
printf '%-44s %8.2fs %8.2fs %7sx  (target < 1x) %s\n' "cold: load + solve (parsing included)" "$c" "$rc" \
  "$(ratio "$c" "$rc")" "$(awk -v a="$c" -v b="$rc" 'BEGIN { print a < b ? "ok" : "MISSED" }')"
printf '%-44s %8.2fs %8.2fs %7sx  (target < 0.5 s) %s\n' "warm: parsed cache / rattler's 2nd call" "$w" "$rw" \
  "$(ratio "$w" "$rw")" "$(awk -v a="$w" 'BEGIN { print a < 0.5 ? "ok" : "MISSED" }')"
echo
echo "cpu (user + sys): ours cold ${cc}s, warm ${wc}s (whole process); rattler ${rcpu}s (whole node process, both calls and start-up)"
echo "peak RSS: ours cold $((rss_cold / 1024)) MB, warm $((rss_warm / 1024)) MB"
