#!/usr/bin/env bash
# Starts a private Docker engine for the real-engine integration tests, in the background, with
# its own data, exec root and socket so that it never clashes with another dockerd on the machine.
# Prints the line to export on stdout (everything else goes to stderr):
#
#   eval "$(scripts/start-dockerd.sh)"     # sets DOCKER_HOST
#   ...
#   scripts/stop-dockerd.sh
#
# State lives under $DE_DOCKERD_DIR (default /tmp/docker-envs-dockerd). Needs root. The vfs storage
# driver and no iptables/bridge make it work inside containers and sandboxes without privileges
# for overlayfs or netfilter; tests run containers with --network none.
set -euo pipefail

dir=${DE_DOCKERD_DIR:-/tmp/docker-envs-dockerd}
timeout_s=${DE_DOCKERD_TIMEOUT:-60}
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"
export_line="export DOCKER_HOST=unix://$sock"

say() { echo "start-dockerd: $*" >&2; }

for cmd in dockerd docker; do
  command -v "$cmd" >/dev/null 2>&1 || { say "$cmd not found (install docker.io)"; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
  say "dockerd needs root"
  exit 1
fi

mkdir -p "$dir/data" "$dir/exec"

# Already running (ours)? Reuse it.
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
  DOCKER_HOST="unix://$sock" timeout 10 docker info >/dev/null 2>&1; then
  say "already running (pid $(cat "$pidfile"))"
  echo "$export_line"
  exit 0
fi
rm -f "$pidfile" "$sock"

# setsid: the engine gets its own session, so a terminal's or test runner's signals do not reach it;
# stop-dockerd.sh ends it by its pid.
setsid dockerd \
  --storage-driver vfs \
  --iptables=false --ip6tables=false --bridge=none \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --host "unix://$sock" \
  --pidfile "$pidfile" \
  </dev/null >"$log" 2>&1 &
launcher=$!

deadline=$((SECONDS + timeout_s))
until DOCKER_HOST="unix://$sock" timeout 5 docker info >/dev/null 2>&1; do
  if ! kill -0 "$launcher" 2>/dev/null; then
    say "dockerd exited early; last lines of $log:"
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    say "dockerd did not answer within ${timeout_s}s; last lines of $log:"
    tail -n 20 "$log" >&2 || true
    kill "$launcher" 2>/dev/null || true
    exit 1
  fi
  sleep 0.5
done
say "running (pid $launcher, log $log)"
echo "$export_line"
