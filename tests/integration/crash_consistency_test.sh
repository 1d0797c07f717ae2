#!/usr/bin/env bash
# Crash consistency (issue 13 item 19): a build killed with SIGKILL at any point (real kills after
# a spread of delays, no test hooks) leaves caches that the next build uses as they are: it
# succeeds and writes the image a clean build writes (same manifest digest), and every cached
# layer blob and downloaded package still matches its digest. Two builds sharing one empty cache
# at once both succeed with identical images, and so do three started a few ms apart into one
# cache and one OCI layout.
#
# Packages come over HTTP (the download path: temp file, verify, rename), extraction and layers go
# through the package and layer caches, the output is an OCI layout (killed mid-write, it is
# written again in place).
#
# The kill must reach the build itself: `f args &` of a shell function forks a subshell that forks
# the CLI, so killing $! kills the subshell and leaves the build running as an orphan (until
# 2026-12 this test did so: no build was ever killed, and the "killed" ones ran on beside the
# rebuild, into the same cache and layout). start_build runs the CLI as the background job
# itself, and each kill is checked to have left no build of that cache running.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
need_cmd sha256sum pgrep

cd "$TEST_TMP"

log "a channel of 6 packages (4 MiB of random bytes each), served over HTTP"
channel=$TEST_TMP/channel
for n in a b c d e f; do
  stage=$(mktemp -d "$TEST_TMP/stage.XXXXXX")
  mkdir -p "$stage/share/$n/sub"
  head -c $((4 << 20)) /dev/urandom >"$stage/share/$n/data.bin"
  echo "$n" >"$stage/share/$n/sub/name.txt"
  CONDAPKG_FORMATS=conda condapkg_build "$stage" "$channel" linux-64 "pkg-$n" 1.0 0 >/dev/null ||
    die "could not make package pkg-$n"
  rm -rf "$stage"
done
condapkg_index "$channel" >/dev/null
start_channel_server "$channel"
(cd "$channel" && explicit_lock "$channel" "$CHANNEL_URL" linux-64/*.conda) >lock.txt

build() { # build CACHE DEST: one build of the lock
  "$DE_CLI" build lock.txt --base scratch --cache-dir "$1" -o "$2"
}
# kill_build_after CACHE DEST DELAY: starts a build (the CLI is the background job: $! is its
# pid) and kills it with SIGKILL after DELAY seconds; returns 0 when it was still running then.
kill_build_after() {
  local pid killed=1
  "$DE_CLI" build lock.txt --base scratch --cache-dir "$1" -o "$2" >/dev/null 2>build.err &
  pid=$!
  sleep "$3"
  if kill -KILL "$pid" 2>/dev/null; then killed=0; fi
  wait "$pid" 2>/dev/null || true
  # Nothing of it may run on: a surviving build would race the rebuild instead of having crashed.
  ! pgrep -f -- "--cache-dir $1 " >/dev/null || die "a build killed after ${3}s is still running"
  return $killed
}
digest() { inspect "$1" "j['manifest_digest']"; }

# check_cache CACHE: every layer blob and downloaded package matches its digest, and no temp file
# claims to be an entry; every build record is complete. (.used/ holds the use stamps `cache
# prune` reads, named like entries.)
check_cache() {
  local cache=$1 f name
  while IFS= read -r -d '' f; do
    name=$(basename "$f")
    [[ "$name" == .* ]] && continue # a temp file of a killed build: never read
    assert_eq "$name" "$(sha256sum <"$f" | cut -c1-64)" "content of the cached blob $f"
  done < <(find "$cache" -path '*/.used' -prune -o -path '*/blobs/sha256/*' -type f -print0)
  while IFS= read -r -d '' f; do
    name=$(basename "$f")
    [[ "$name" == *.conda ]] || continue
    grep -q "$(sha256sum <"$f" | cut -c1-64)" lock.txt || die "the downloaded package $f is not the one the lock names"
  done < <(find "$cache" -path '*/.used' -prune -o -path '*/downloads/*' -type f -print0)
  # Build records (builds/*.json; temp files start with a dot) are whole: written then renamed.
  for f in "$cache"/builds/*.json; do
    [[ -e "$f" ]] || continue
    python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["packages"]' "$f" ||
      die "the build record $f is damaged"
  done
}

log "clean build"
started=$(date +%s.%N)
build "$TEST_TMP/clean-cache" "oci:$TEST_TMP/clean" >/dev/null 2>clean.err || die "clean build failed: $(cat clean.err)"
took=$(python3 -c "print($(date +%s.%N) - $started)")
want=$(digest "oci:$TEST_TMP/clean")

# The delays are fractions of the clean build's time, so that the kills land inside a build on a
# fast machine as on a loaded one (fixed delays let a fast CI machine finish before most kills),
# and a few fixed ones of a few milliseconds: the first steps of a build (lease, memo lookup, the
# first downloads' temp files and locks).
log "kill -9 after a spread of delays (a few ms, and fractions of the clean build's ${took}s), then build again with the same cache and destination"
cache=$TEST_TMP/cache
kills=0
delays="0.002 0.005 0.011 0.02"
for fraction in 0.03 0.1 0.2 0.35 0.5 0.7; do delays+=" $(python3 -c "print(round($took * $fraction, 3))")"; done
for delay in $delays; do
  rm -rf "$cache" "$TEST_TMP/out"
  if kill_build_after "$cache" "oci:$TEST_TMP/out" "$delay"; then kills=$((kills + 1)); fi
  # A second kill in the build that follows, at half the delay: caches killed twice.
  kill_build_after "$cache" "oci:$TEST_TMP/out" "$(python3 -c "print($delay / 2)")" || true
  build "$cache" "oci:$TEST_TMP/out" >/dev/null 2>build.err ||
    die "the build after a kill at ${delay}s failed: $(cat build.err)"
  assert_eq "$want" "$(digest "oci:$TEST_TMP/out")" "image built after a kill at ${delay}s"
  check_cache "$cache"
done
((kills >= 5)) || die "only $kills builds were still running when killed (clean build took ${took}s)"
log "$kills builds killed mid-way; every rebuild gave $want"

log "two builds at once sharing one empty cache"
rm -rf "$cache"
build "$cache" "oci:$TEST_TMP/one" >/dev/null 2>one.err &
one=$!
build "$cache" "oci:$TEST_TMP/two" >/dev/null 2>two.err &
two=$!
wait "$one" || die "the first of two concurrent builds failed: $(cat one.err)"
wait "$two" || die "the second of two concurrent builds failed: $(cat two.err)"
assert_eq "$want" "$(digest "oci:$TEST_TMP/one")" "first concurrent build"
assert_eq "$want" "$(digest "oci:$TEST_TMP/two")" "second concurrent build"
check_cache "$cache"

# What the kills of this test amounted to before they reached the build (see the top): builds a
# few ms apart sharing one cache and one layout. The one CI failure of this test (a digest other
# than the clean build's, 2026-12) happened so; kept as its own check so that a recurrence is
# named for what it is.
log "three builds a few ms apart into one empty cache and one OCI layout"
rm -rf "$cache" "$TEST_TMP/shared"
pids=()
for i in 1 2 3; do
  build "$cache" "oci:$TEST_TMP/shared" >/dev/null 2>"shared$i.err" &
  pids+=($!)
  sleep "0.00$((3 * i))"
done
for i in 1 2 3; do
  wait "${pids[i - 1]}" || die "build $i of three into one layout failed: $(cat "shared$i.err")"
done
assert_eq "$want" "$(digest "oci:$TEST_TMP/shared")" "three builds into one layout"
check_cache "$cache"
