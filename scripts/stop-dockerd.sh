#!/usr/bin/env bash
# Stops the private Docker engine started by scripts/start-dockerd.sh and removes its state
# (images, containers, socket). Safe to run when it is not running.
set -euo pipefail

dir=${DE_DOCKERD_DIR:-/tmp/docker-envs-dockerd}
pidfile="$dir/dockerd.pid"

say() { echo "stop-dockerd: $*" >&2; }

if [[ -f "$pidfile" ]]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
  fi
fi

if [[ -d "$dir" ]]; then
  # Mounts the engine may have left under its directories (netns, shm) go before the files.
  { grep -F " $dir/" /proc/self/mounts 2>/dev/null || true; } | awk '{print $2}' | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$dir" 2>/dev/null || say "could not remove everything under $dir"
fi
say "stopped"
