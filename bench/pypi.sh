#!/usr/bin/env bash
# PyPI benchmark: resolve and install a 40-wheel requirement set from a local index, ours against
# `pip install --prefix DIR --no-compile -r req.txt` (Debian's python3-pip) with the same index in
# the same run, cold (empty caches) and warm. See bench/README.md. Ours is measured two ways:
# - the user's path: `docker-envs lock env.yml` (the requirements in a `- pip:` section, beside a
#   minimal `python` conda package from a local channel) then `docker-envs env install LOCK --root`;
# - bench/pypi_install, the library calls alone (the resolver, the package cache, the installer).
#
#   bench/pypi.sh [--runs N] [--workdir DIR] [--cli PATH] [--ours PATH] [--latency SECONDS]
#
# --latency: the index answers every request that much later (a remote index's round trip;
# channel_server.py --slow), for both.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
workdir=${TMPDIR:-/tmp}/docker-envs-bench
ours_bin=$root/build/bench/pypi_install
cli=$root/build/docker-envs
python=/usr/bin/python3
latency=0

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --ours) ours_bin=$2; shift 2 ;;
    --cli) cli=$2; shift 2 ;;
    --latency) latency=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "pypi.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "pypi.sh: $*" >&2; exit 1; }
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (scripts/install-deps.sh installs it)"
"$python" -m pip --version >/dev/null 2>&1 || die "$python -m pip not found (Debian's python3-pip)"
[[ -x "$ours_bin" ]] || die "pypi_install not found at $ours_bin (run scripts/build.sh)"
[[ -x "$cli" ]] || die "docker-envs not found at $cli (run scripts/build.sh)"

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
out=$workdir/pypi-out
source "$root/bench/lib.sh"
trash_init "$workdir"
server_pid=
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$out" "$trash"
}
trap cleanup EXIT

index=$workdir/pypi-index
if [[ ! -f "$index.done" ]]; then
  rm -rf "$index"
  "$python" "$root/bench/gen_pypi_index.py" "$index"
  touch "$index.done"
fi
pyver=$("$python" -c 'import platform; print(platform.python_version())')
# The conda side of the user's path: a channel (served beside the index) holding only a `python`
# package of the host python's version holding one small text file (no interpreter:
# examples/conda-hello/condapkg.sh), so the
# lock's conda solve and env install's conda work are a few milliseconds and the wheels are
# resolved for the python pip runs on. Made again each time (reproducible, a few KB).
source "$root/examples/conda-hello/condapkg.sh"
rm -rf "$index/conda" "$workdir/python-stage"
mkdir -p "$workdir/python-stage/share/python"
echo "python $pyver (a stand-in for the benchmark)" >"$workdir/python-stage/share/python/version.txt"
condapkg_build "$workdir/python-stage" "$index/conda" noarch python "$pyver" 0 >/dev/null ||
  die "could not make the python conda package"
condapkg_index "$index/conda" >/dev/null || die "could not index the conda channel"
rm -rf "$workdir/python-stage"
rm -f "$workdir/pypi-port"
slow=()
[[ "$latency" != 0 ]] && slow=(--slow "/:$latency")  # every path has a /
"$python" "$root/tests/support/channel_server.py" --root "$index" --port-file "$workdir/pypi-port" \
  --log /dev/null "${slow[@]}" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$workdir/pypi-port" ]] && break; sleep 0.1; done
[[ -s "$workdir/pypi-port" ]] || die "the index server did not start"
url=http://127.0.0.1:$(cat "$workdir/pypi-port")/simple/
channel=http://127.0.0.1:$(cat "$workdir/pypi-port")/conda
# The environment file: the same requirements as req.txt, in a pip section.
env_file=$workdir/pypi-env.yml
{
  echo "name: pypi-bench"
  echo "channels: ['$channel']"
  echo "dependencies:"
  echo "  - python $pyver"
  echo "  - pip:"
  echo "    - --index-url $url"
  grep -v '^[[:space:]]*\(#\|$\)' "$index/req.txt" | sed 's/^/    - /'
} >"$env_file"
conda_env_file=$workdir/pypi-env-conda.yml  # the conda part alone, to show its share
sed '/pip:/,$d' "$env_file" >"$conda_env_file"

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
  printf '%-44s %7.2fs %7.2fs %6sx  (target <= %sx) %-6s | cpu %6.2fs %6.2fs %5sx\n' \
    "$1" "$2" "$3" "$r" "$4" "$(verdict "$r" "$4")" "$5" "$6" "$c"
}
part() {  # name wall cpu: one step of a row, no baseline
  printf '%-44s %7.2fs %8s %7s  %-25s | cpu %6.2fs\n' "$1" "$2" "" "" "" "$3"
}

pip_cmd() {  # CACHE PREFIX
  echo "PIP_CONFIG_FILE=/dev/null PYTHONDONTWRITEBYTECODE=1 '$python' -m pip install --quiet" \
    "--disable-pip-version-check --no-warn-script-location --ignore-installed --no-compile" \
    "--cache-dir '$1' --prefix '$2' --index-url '$url' -r '$index/req.txt'"
}
ours_cmd() {  # THREADS CACHE ROOT
  echo "'$ours_bin' --index '$url' -r '$index/req.txt' --python '$pyver' --fetch-threads $1" \
    "--cache '$2' --root '$3'"
}
lock_cmd() {  # XDG_CACHE_HOME LOCK [ENV_FILE]: the lock step alone
  echo "XDG_CACHE_HOME='$1' '$cli' lock '${3:-$env_file}' -o '$2'"
}
install_cmd() {  # XDG_CACHE_HOME ROOT: the env install step alone, of the check run's lock
  echo "XDG_CACHE_HOME='$1' '$cli' env install '$workdir/pypi-lock.yml' --root '$2'"
}
cli_cmd() {  # XDG_CACHE_HOME ROOT: lock (conda solve, pip resolution) then env install of the lock
  echo "XDG_CACHE_HOME='$1' '$cli' lock '$env_file' -o '$2.lock.yml' &&" \
    "XDG_CACHE_HOME='$1' '$cli' env install '$2.lock.yml' --root '$2'"
}

# Both must install the same distributions (names and versions of the .dist-info directories).
mkdir -p "$out"
eval "$(pip_cmd "$out/check-pip-cache" "$out/check-pip")" >/dev/null 2>&1 || die "pip failed"
eval "$(ours_cmd 8 "$out/check-cache" "$out/check-root")" 2>/dev/null || die "pypi_install failed"
eval "$(cli_cmd "$out/check-xdg" "$out/check-cli")" >/dev/null 2>"$out/check-cli.err" ||
  { cat "$out/check-cli.err" >&2; die "docker-envs lock + env install failed"; }
# (Debian's pip puts a --prefix install under local/lib/python3.X/dist-packages.)
pip_dists=$(find "$out/check-pip" -maxdepth 6 -name '*.dist-info' -printf '%f\n' | sort)
for tree in check-root check-cli; do
  our_dists=$(find "$out/$tree" -maxdepth 7 -name '*.dist-info' -printf '%f\n' | sort)
  [[ "$pip_dists" == "$our_dists" ]] || {
    diff <(echo "$pip_dists") <(echo "$our_dists") >&2
    die "pip and ours ($tree) installed different distributions"
  }
done
count=$(echo "$our_dists" | wc -l)
pip_locked=$(grep -c 'manager: pip' "$out/check-cli.lock.yml")
conda_locked=$(grep -c 'manager: conda' "$out/check-cli.lock.yml")
cp "$out/check-cli.lock.yml" "$workdir/pypi-lock.yml"
retire "$out"

echo "index: $url ($(du -sh "$index" | cut -f1), $(ls "$index/files" | grep -c '\.whl$') wheels); $count distributions installed by pip and both of ours (the lock: $pip_locked pip, $conda_locked conda); latency: ${latency}s; runs: $runs (median); load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %8s %8s %7s  %-25s | %-10s %7s %6s\n" "benchmark (wall time)" "ours" "pip" "ratio" "" "cpu: ours" "pip" "ratio"

# Cold: every run with empty caches and an empty destination.
cold_prep="retire '$out'; mkdir -p '$out'; settle --drop"
measure pip_cold "$cold_prep" "$(pip_cmd "$out/pip-cache" "$out/pip-prefix")"
cpu_pip_cold=$LAST_CPU
measure cli_cold "$cold_prep" "$(cli_cmd "$out/xdg" "$out/root")"
report "cold: docker-envs lock + env install" "$cli_cold" "$pip_cold" 0.5 "$LAST_CPU" "$cpu_pip_cold"
measure step "$cold_prep" "$(lock_cmd "$out/xdg" "$out/part.lock.yml")"
part "  lock alone (conda solve + pip resolution)" "$step" "$LAST_CPU"
measure step "$cold_prep" "$(install_cmd "$out/xdg" "$out/root")"
part "  env install alone (fetch + install)" "$step" "$LAST_CPU"
measure step "$cold_prep" "$(lock_cmd "$out/xdg" "$out/c.lock.yml" "$conda_env_file") &&
  XDG_CACHE_HOME='$out/xdg' '$cli' env install '$out/c.lock.yml' --root '$out/root'"
part "  conda part alone (python: lock + install)" "$step" "$LAST_CPU"
measure ours_cold "$cold_prep" "$(ours_cmd 8 "$out/cache" "$out/root")"
report "cold: pypi_install, parallel fetch" "$ours_cold" "$pip_cold" 0.5 "$LAST_CPU" "$cpu_pip_cold"
measure seq_cold "$cold_prep" "$(ours_cmd 1 "$out/cache" "$out/root")"
report "cold: pypi_install, one fetch at a time" "$seq_cold" "$pip_cold" 0.5 "$LAST_CPU" "$cpu_pip_cold"

# Warm: the caches of one untimed run kept, a new destination each run.
retire "$out"
mkdir -p "$out"
eval "$(pip_cmd "$out/pip-cache" "$out/pip-warmup")" >/dev/null 2>&1
eval "$(ours_cmd 8 "$out/cache" "$out/warmup")" 2>/dev/null
eval "$(cli_cmd "$out/xdg" "$out/cli-warmup")" >/dev/null 2>&1
warm_prep() { echo "retire '$out/pip-prefix' '$out/root'"; }
measure pip_warm "$(warm_prep)" "$(pip_cmd "$out/pip-cache" "$out/pip-prefix")"
cpu_pip_warm=$LAST_CPU
measure cli_warm "$(warm_prep)" "$(cli_cmd "$out/xdg" "$out/root")"
report "warm: docker-envs lock + env install" "$cli_warm" "$pip_warm" 0.5 "$LAST_CPU" "$cpu_pip_warm"
measure step "" "$(lock_cmd "$out/xdg" "$out/part.lock.yml")"
part "  lock alone (conda solve + pip resolution)" "$step" "$LAST_CPU"
measure step "$(warm_prep)" "$(install_cmd "$out/xdg" "$out/root")"
part "  env install alone (fetch + install)" "$step" "$LAST_CPU"
measure ours_warm "$(warm_prep)" "$(ours_cmd 8 "$out/cache" "$out/root")"
report "warm: pypi_install, parallel fetch" "$ours_warm" "$pip_warm" 0.5 "$LAST_CPU" "$cpu_pip_warm"
measure seq_warm "$(warm_prep)" "$(ours_cmd 1 "$out/cache" "$out/root")"
report "warm: pypi_install, one fetch at a time" "$seq_warm" "$pip_warm" 0.5 "$LAST_CPU" "$cpu_pip_warm"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
