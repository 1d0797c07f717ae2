#!/usr/bin/env bash
# The live progress display in a real terminal: `docker-envs build` runs in a detached tmux pane
# (80x24, then 200x50) against a channel server that trickles package bytes, so the display is
# live for a few seconds. capture-pane shows:
# - during the build: the region redrawn in place (one line for the running fetch stage with its
#   bar, one for the slow download), under the collapsed solve line; nothing wider than the pane;
# - after it: one collapsed line per stage, in order, no bar left behind, and the summary
#   (destination, digest, layers built/reused, time per stage);
# - after a rebuild of the 80x24 environment with one package bumped: the diff in the summary
#   (`~ quick 1.0 → 1.1`, the layers rebuilt).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
need_cmd tmux
export SOURCE_DATE_EPOCH=1700000000

slow_channel_env 500000 tty-env  # ~5 s to download

# check_capture FILE COLUMNS WHEN: the checks on one capture (python, below).
check_capture() {
  python3 - "$@" <<'PY'
import re, sys
path, columns, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l.rstrip() for l in open(path).read().splitlines()]
def find(pattern):
    return [i for i, l in enumerate(lines) if re.search(pattern, l)]
def one(pattern):
    found = find(pattern)
    assert len(found) == 1, f"{when}: {len(found)} lines match {pattern!r}:\n" + "\n".join(lines)
    return found[0]
for l in lines:
    # Progress lines are cut to the width; only the summary's path may be longer.
    if not l.startswith("wrote "):
        assert len(l) < columns, f"{when}: a line of {len(l)} columns in {columns}: {l!r}"
solve = one(r"^\[solve\] done in ")
if when == "during":
    bar = one(r"^\[fetch\]  \[[#.]+\]  [0-9]/2")
    task = one(r"^    slow-1\.0-[^ ]*\.conda  \[[#.]+\]  ")
    assert solve < bar < task, "\n".join(lines)
    assert not find(r"^\[fetch\] done"), "fetch ended before the capture"
else:
    fetch = one(r"^\[fetch\] done in ")
    layers = one(r"^\[layers\] done in ")
    wrote = one(r"^wrote oci:")
    digest = one(r"^digest sha256:[0-9a-f]{64}$")
    built = one(r"^layers: 3 built, 0 reused; ")
    time = one(r"^time: solve [0-9.]+ s, fetch ")
    status = one(r"^EXIT=0$")
    assert solve < fetch < layers < wrote < digest < built < time < status, "\n".join(lines)
    assert not find(r"\[[#.]{10,}\]"), "a bar was left behind:\n" + "\n".join(lines)
    # A running stage's line ("[solve]  1 spec(s) ...") left behind, on screen or in the history.
    assert not find(r"^\[[a-z]+\]  "), "a region line was left behind:\n" + "\n".join(lines)
PY
}

run_in_pane() {
  local columns=$1 rows=$2
  local name=${columns}x$rows sock=$TEST_TMP/tmux-$columns.sock capture
  cat >"$TEST_TMP/run-$name.sh" <<SH
export XDG_CACHE_HOME='$TEST_TMP/cache-$name'
'$DE_CLI' build '$TEST_TMP/environment.yml' -o 'oci:$TEST_TMP/out-$name:1'
echo "EXIT=\$?"
sleep 600
SH
  tmux -S "$sock" -f /dev/null new-session -d -x "$columns" -y "$rows" -s t "bash '$TEST_TMP/run-$name.sh'" ||
    die "tmux would not start"
  on_exit "tmux -S '$sock' kill-server 2>/dev/null"

  log "$name: during the build"
  local i found=""
  for ((i = 0; i < 300; i++)); do
    capture=$(tmux -S "$sock" capture-pane -p -t t)
    if grep -qE '^\[fetch\]  \[' <<<"$capture" && grep -qE '^    slow-1\.0-' <<<"$capture"; then
      found=1
      break
    fi
    sleep 0.05
  done
  [[ -n $found ]] || die "$name: the live region never showed: $capture"
  printf '%s\n' "$capture" >"$TEST_TMP/during-$name.txt"
  cat "$TEST_TMP/during-$name.txt"
  check_capture "$TEST_TMP/during-$name.txt" "$columns" during || die "$name: the live region is wrong"

  log "$name: after the build"
  for ((i = 0; i < 600; i++)); do
    capture=$(tmux -S "$sock" capture-pane -p -J -S -200 -t t)
    grep -q '^EXIT=' <<<"$capture" && break
    sleep 0.1
  done
  printf '%s\n' "$capture" >"$TEST_TMP/after-$name.txt"
  cat "$TEST_TMP/after-$name.txt"
  check_capture "$TEST_TMP/after-$name.txt" "$columns" after || die "$name: the final screen is wrong"
  tmux -S "$sock" kill-server 2>/dev/null || true
}

# rebuild_in_pane: `quick` bumped to 1.1 in the channel, the 80x24 build's environment built again
# with its cache in an 80x24 pane (tmux -u: UTF-8, for the arrow); the final screen shows what
# changed (issue 17 item 2) between the layer counts and the time per stage.
rebuild_in_pane() {
  local sock=$TEST_TMP/tmux-rebuild.sock capture i
  make_pkg "$TEST_TMP/channel" noarch quick 1.1 "slow"
  condapkg_index "$TEST_TMP/channel"
  cat >"$TEST_TMP/run-rebuild.sh" <<SH
export XDG_CACHE_HOME='$TEST_TMP/cache-80x24'
'$DE_CLI' build '$TEST_TMP/environment.yml' -o 'oci:$TEST_TMP/out-80x24:1'
echo "EXIT=\$?"
sleep 600
SH
  tmux -u -S "$sock" -f /dev/null new-session -d -x 80 -y 24 -s t "bash '$TEST_TMP/run-rebuild.sh'" ||
    die "tmux would not start"
  on_exit "tmux -S '$sock' kill-server 2>/dev/null"
  log "80x24: after a rebuild with quick bumped"
  for ((i = 0; i < 600; i++)); do
    capture=$(tmux -S "$sock" capture-pane -p -J -S -200 -t t)
    grep -q '^EXIT=' <<<"$capture" && break
    sleep 0.1
  done
  printf '%s\n' "$capture" >"$TEST_TMP/rebuild.txt"
  cat "$TEST_TMP/rebuild.txt"
  python3 - "$TEST_TMP/rebuild.txt" <<'PY' || die "the rebuild's final screen does not show the diff"
import re, sys
lines = [l.rstrip() for l in open(sys.argv[1], encoding="utf-8").read().splitlines()]
def one(pattern):
    found = [i for i, l in enumerate(lines) if re.search(pattern, l)]
    assert len(found) == 1, f"{len(found)} lines match {pattern!r}:\n" + "\n".join(lines)
    return found[0]
built = one(r"^layers: 2 built, 1 reused; ")
header = one(r"^changes since the last build \(latest, \d{4}-\d\d-\d\d \d\d:\d\d UTC\):$")
bump = one(r"^  ~ quick 1\.0 → 1\.1$")
rebuilt = one(r"^  rebuilt 2 of 3 layers: quick-1\.1-[^ ]+,")
time = one(r"^time: solve ")
status = one(r"^EXIT=0$")
assert built < header < bump < rebuilt < time < status, "\n".join(lines)
assert not any(re.match(r"^  [+-] ", l) for l in lines), "\n".join(lines)
for l in lines:
    assert len(l) < 80 or l.startswith("wrote "), f"a line of {len(l)} columns: {l!r}"
PY
  tmux -S "$sock" kill-server 2>/dev/null || true
}

run_in_pane 80 24
run_in_pane 200 50
rebuild_in_pane
log "ok"
