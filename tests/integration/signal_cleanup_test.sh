#!/usr/bin/env bash
# Nothing half-made on signals (issue 13 item 10): SIGINT, SIGTERM or SIGHUP during `image copy`
# (to docker-archive, oci and oci-archive) and during `build` remove the temp files, staging
# directories and unfinished destinations, and exit with 128 + the signal number; a SIGHUP that
# the caller ignores (nohup) stays ignored; after a kill -9 the leftovers do not stop the next run
# (an oci:DIR holding only a half-written blob is written to, not refused).
#
# Each command is interrupted once its first temp file exists: the script polls for it, stops the
# process (SIGSTOP), sends the signal and lets it go on (SIGCONT), so the signal always arrives
# mid-write, however fast the machine.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_cli image copy
need_cmd env find

cd "$TEST_TMP"

# Temp files and staging directories this program makes: .NAME.tmp-<hex> beside a destination,
# .tmp-KEY-* in the package cache.
leftovers() { find "$@" \( -name '.*.tmp-*' -o -name '.tmp-*' \) -print 2>/dev/null || true; }

# wait_for_temp PID DIR...: waits until a temp file appears below DIR... (true) or PID exits.
wait_for_temp() {
  local pid=$1 i
  shift
  for ((i = 0; i < 6000; i++)); do
    [[ -n "$(leftovers "$@")" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  [[ -n "$(leftovers "$@")" ]]
}

# interrupt SIGNAL CMD...: runs docker-envs CMD in the background with default signal
# dispositions (a background job of a script starts with SIGINT ignored), waits until a temp file
# appears below the directories in WATCH (an array), then delivers SIGNAL mid-write. Sets $rc to
# the exit status; the stderr is in int.err.
interrupt() {
  local sig=$1 pid
  shift
  env --default-signal=INT,TERM,HUP "$DE_CLI" "$@" >int.out 2>int.err &
  pid=$!
  if ! wait_for_temp "$pid" "${WATCH[@]}"; then
    wait "$pid" || true
    die "docker-envs $*: no temp file appeared below ${WATCH[*]} before it finished: $(cat int.err)"
  fi
  kill -STOP "$pid"
  kill -"$sig" "$pid"
  kill -CONT "$pid"
  rc=0
  wait "$pid" || rc=$?
}

signo() { kill -l "$1"; }

# expect_clean SIGNAL WHAT DEST DIR...: the run ended with 128 + SIGNAL, said so, left nothing
# below DIR... and no DEST.
expect_clean() {
  local sig=$1 what=$2 dest=$3
  shift 3
  assert_eq $((128 + $(signo "$sig"))) "$rc" "$what: exit status after SIG$sig ($(cat int.err))"
  grep -q "interrupted by SIG$sig" int.err || die "$what: no 'interrupted' message: $(cat int.err)"
  [[ ! -e "$dest" ]] || die "$what: SIG$sig left the destination $dest"
  local left
  left=$(leftovers "$@")
  [[ -z "$left" ]] || die "$what: SIG$sig left temp files: $left"
  log "$what: SIG$sig removed everything and exited $rc"
}

log "a big image (256 MiB of random bytes in one layer)"
mkdir -p root
head -c $((256 << 20)) /dev/urandom >root/blob
run_cli image add-layer scratch docker-archive:src.tar:big:1 --dir root
rm -rf root
run_cli image copy src.tar oci:src-oci --compression zstd

mkdir out
WATCH=(out)
interrupt INT image copy src.tar oci:out/layout --compression gzip
expect_clean INT "image copy to a new oci:DIR" out/layout out
interrupt TERM image copy oci:src-oci docker-archive:out/img.tar
expect_clean TERM "image copy to docker-archive" out/img.tar out
interrupt HUP image copy src.tar oci-archive:out/img-oci.tar --compression gzip
expect_clean HUP "image copy to oci-archive" out/img-oci.tar out

log "an existing oci:DIR keeps what it had; the interrupted write's blob temp file goes"
run_cli image copy scratch oci:out/kept:small
before=$(cd out/kept && find . -type f | sort)
interrupt TERM image copy src.tar oci:out/kept:big --compression gzip
assert_eq 143 "$rc" "exit status after SIGTERM into an existing layout"
assert_eq "$before" "$(cd out/kept && find . -type f | sort)" "files of the existing layout"

log "SIGHUP ignored by the caller (nohup) stays ignored"
env --ignore-signal=HUP "$DE_CLI" image copy oci:src-oci docker-archive:out/nohup.tar >int.out 2>int.err &
pid=$!
wait_for_temp "$pid" out || die "the copy finished before it could be sent SIGHUP"
kill -HUP "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 0 "$rc" "exit status of a copy whose SIGHUP is ignored ($(cat int.err))"
assert_file out/nohup.tar
rm -f out/nohup.tar

log "kill -9: the next run tolerates our leftovers"
"$DE_CLI" image copy src.tar oci:out/killed --compression gzip >int.out 2>int.err &
pid=$!
wait_for_temp "$pid" out || die "the copy finished before it could be killed"
kill -KILL "$pid"
wait "$pid" || true
[[ -n "$(leftovers out/killed)" ]] || die "kill -9 left no temp file to tolerate"
[[ ! -e out/killed/index.json ]] || die "kill -9 mid-layer left an index.json"
run_cli image copy src.tar oci:out/killed --compression gzip
run_cli image copy src.tar oci:out/direct --compression gzip
assert_eq "$(layer_digests oci:out/direct)" "$(layer_digests oci:out/killed)" \
  "layers written after a kill -9 and directly"
rm -rf out/killed out/direct # the killed copy's temp file stays there (nobody may remove it)

# build: packages with random payloads (zstd-compressed .conda only, so that making them is quick).
need_build
log "build: a channel of 4 packages with 24 MiB of random bytes each"
channel=$TEST_TMP/channel
for n in a b c d; do
  stage=$(mktemp -d "$TEST_TMP/stage.XXXXXX")
  mkdir -p "$stage/share/$n"
  head -c $((24 << 20)) /dev/urandom >"$stage/share/$n/data.bin"
  CONDAPKG_FORMATS=conda condapkg_build "$stage" "$channel" linux-64 "big-$n" 1.0 0 >/dev/null ||
    die "could not make package big-$n"
  rm -rf "$stage"
done
condapkg_index "$channel" >/dev/null
(cd "$channel" && explicit_lock "$channel" "file://$channel" linux-64/*.conda) >lock.txt
export XDG_CACHE_HOME=$TEST_TMP/cache
mkdir -p "$XDG_CACHE_HOME"
WATCH=(out "$XDG_CACHE_HOME")
interrupt INT build lock.txt --base scratch -o "docker-archive:out/build.tar"
expect_clean INT "build" out/build.tar out "$XDG_CACHE_HOME"
interrupt TERM build lock.txt --base scratch -o "oci:out/build-oci"
expect_clean TERM "build to oci:DIR" out/build-oci out "$XDG_CACHE_HOME"
run_cli build lock.txt --base scratch -o "docker-archive:out/build.tar"
XDG_CACHE_HOME=$TEST_TMP/clean-cache run_cli build lock.txt --base scratch -o "docker-archive:out/clean.tar"
assert_eq "$(inspect docker-archive:out/clean.tar "j['manifest_digest']")" \
  "$(inspect docker-archive:out/build.tar "j['manifest_digest']")" "a build after the interrupted ones, and a clean one"
