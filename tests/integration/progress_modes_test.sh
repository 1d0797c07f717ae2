#!/usr/bin/env bash
# `--progress plain|json` and `-q` on `docker-envs build`, stderr not a terminal, against a channel
# server that trickles package bytes (~100 KB/s):
# - plain: a line when each stage starts and ends, and a heartbeat while the slow download runs
#   (so a CI log shows life), in order; no line per package unless -v; nothing about changes on a
#   first build, "no package changed since the last build" on the warm rebuild;
# - json: every line of stderr is one JSON object, with stage, task and byte events;
# - -q: nothing on stderr.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
export SOURCE_DATE_EPOCH=1700000000

slow_channel_env 700000 progress-env  # ~7 s to download

log "plain, cold cache: stage lines and a heartbeat during the slow download"
XDG_CACHE_HOME=$TEST_TMP/cache1 "$DE_CLI" --progress plain build "$TEST_TMP/environment.yml" \
  -o "oci:$TEST_TMP/plain:1" >"$TEST_TMP/plain.out" 2>"$TEST_TMP/plain.err" ||
  { cat "$TEST_TMP/plain.err" >&2; die "plain build failed"; }
cat "$TEST_TMP/plain.err"
python3 - "$TEST_TMP/plain.err" <<'PY' || die "plain progress is not as expected"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
def index(pattern):
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            return i
    sys.exit(f"no line matches {pattern!r}")
solve = index(r"^\[solve\] 1 spec\(s\) for linux-64")
solved = index(r"^\[solve\] done in .*: 2 package\(s\) for linux-64$")
start = index(r"^\[fetch\] 2 package\(s\)$")
beat = index(r"^\[fetch\] [01]/2 done, .*1 in progress, [0-9.]+ s$")
end = index(r"^\[fetch\] done in .*: 2 package\(s\): 2 downloaded")
layers = index(r"^\[layers\] done in .*3 layer\(s\): 0 reused, 3 built")
wrote = index(r"^wrote oci:.*plain:1 \(progress-env:latest\)$")
digest = index(r"^digest sha256:[0-9a-f]{64}$")
index(r"^layers: 3 built, 0 reused; ")
timing = index(r"^time: solve .*, fetch .*, plan .*, layers .*, write ")
assert solve < solved < start < beat < end < layers < wrote < digest < timing, lines
assert not any("slow-1.0-" in l or "quick-1.0-" in l for l in lines), "a line per package"
assert not any("since the last build" in l for l in lines), "changes printed on a first build"
PY

log "plain -v, warm cache: a line per package and per layer, counted in order"
# Without the whole-image memo, which would skip fetching and planning altogether.
rm -rf "$TEST_TMP/cache1/docker-envs/layers/images"
XDG_CACHE_HOME=$TEST_TMP/cache1 "$DE_CLI" build -v --progress plain "$TEST_TMP/environment.yml" \
  -o "oci:$TEST_TMP/verbose:1" >/dev/null 2>"$TEST_TMP/verbose.err" ||
  { cat "$TEST_TMP/verbose.err" >&2; die "verbose build failed"; }
grep -E '^\[fetch\] \(1/2\) cached ' "$TEST_TMP/verbose.err" >/dev/null || die "no (1/2) line: $(cat "$TEST_TMP/verbose.err")"
grep -E '^\[fetch\] \(2/2\) cached ' "$TEST_TMP/verbose.err" >/dev/null || die "no (2/2) line"
counts=$(grep -oE '^\[layers\] \([0-9]+/3\) reused' "$TEST_TMP/verbose.err" | grep -oE '[0-9]+/3' | tr '\n' ' ')
assert_eq "$counts" "1/3 2/3 3/3 " "layer lines in order"
# The same environment again: the summary says so (build_changes_test.sh checks a real diff).
grep -qE '^no package changed since the last build \(latest, [0-9-]+ [0-9:]+ UTC\)$' "$TEST_TMP/verbose.err" ||
  die "no 'no package changed' line in the warm rebuild: $(cat "$TEST_TMP/verbose.err")"

log "json, cold cache: every stderr line is a JSON event"
XDG_CACHE_HOME=$TEST_TMP/cache2 "$DE_CLI" build "$TEST_TMP/environment.yml" --progress json --json \
  -o "oci:$TEST_TMP/json:1" >"$TEST_TMP/json.out" 2>"$TEST_TMP/json.err" ||
  { cat "$TEST_TMP/json.err" >&2; die "json build failed"; }
python3 - "$TEST_TMP/json.err" "$TEST_TMP/json.out" <<'PY' || die "json progress is not as expected"
import json, sys
events = []
for n, line in enumerate(open(sys.argv[1]).read().splitlines(), 1):
    try:
        events.append(json.loads(line))
    except ValueError:
        sys.exit(f"stderr line {n} is not JSON: {line!r}")
for e in events:
    assert {"event", "time"} <= e.keys(), e
kinds = [e["event"] for e in events]
for k in ("stage_start", "stage_end", "task_start", "task_progress", "task_end", "summary"):
    assert k in kinds, (k, kinds)
slow = [e for e in events if e["event"] == "task_progress" and e["task"].startswith("slow-1.0-")]
assert len(slow) >= 3 and slow[-1]["bytes"] > slow[0]["bytes"] and slow[0]["total"] > 0, slow
ends = [e for e in events if e["event"] == "task_end" and e["stage"] == "fetch"]
assert sorted(e["detail"] for e in ends) == ["downloaded", "downloaded"], ends
times = [e["time"] for e in events]
assert times == sorted(times), "time goes back"
assert kinds[-1] == "summary", kinds[-1]
json.load(open(sys.argv[2]))  # --json's result on stdout is untouched
PY

log "-q: nothing on stderr"
XDG_CACHE_HOME=$TEST_TMP/cache1 "$DE_CLI" -q build "$TEST_TMP/environment.yml" \
  -o "oci:$TEST_TMP/quiet:1" >/dev/null 2>"$TEST_TMP/quiet.err" ||
  { cat "$TEST_TMP/quiet.err" >&2; die "quiet build failed"; }
[[ ! -s "$TEST_TMP/quiet.err" ]] || die "-q printed: $(cat "$TEST_TMP/quiet.err")"

log "ok"
