# Serves a conda channel directory over HTTP on 127.0.0.1 for the integration tests
# (tests/support/channel_server.py). Source after tests/integration/lib.sh.
#
#   start_channel_server DIR [channel_server.py options: --token T --basic U:P --fail-every N --gzip]
#     serves DIR; sets CHANNEL_PORT, CHANNEL_URL (http://127.0.0.1:PORT, with /t/T when --token is
#     given) and CHANNEL_LOG (one line per request: METHOD PATH STATUS BYTES); stopped when the test
#     exits (CHANNEL_PID is its process, for a test that stops it earlier). Call it again for a
#     second server; the variables then describe the new one.
#   channel_requests PATTERN: how many logged requests match the grep PATTERN.
# shellcheck shell=bash

start_channel_server() {
  local dir=$1
  shift
  need_cmd python3
  [[ -d "$dir" ]] || die "start_channel_server: $dir is not a directory"
  local state
  state=$(mktemp -d "$TEST_TMP/channel-server.XXXXXX")
  CHANNEL_LOG=$state/requests.log
  : >"$CHANNEL_LOG"
  python3 "$DE_SOURCE_DIR/tests/support/channel_server.py" --root "$dir" \
    --port-file "$state/port" --log "$CHANNEL_LOG" "$@" >"$state/server.out" 2>&1 &
  local pid=$!
  CHANNEL_PID=$pid
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  CHANNEL_PORT=$(read_port_file "$pid" "$state/port" "$state/server.out" "channel server")
  CHANNEL_URL=http://127.0.0.1:$CHANNEL_PORT
  local a prev=""
  for a in "$@"; do
    [[ $prev != --token ]] || CHANNEL_URL+=/t/$a
    prev=$a
  done
}

channel_requests() {
  grep -c -- "$1" "$CHANNEL_LOG" || true
}
