#!/usr/bin/env bash
# Builds a small runnable image WITHOUT Docker, from nothing (`scratch`), with docker-envs:
#   layer 1: Debian's static busybox at /bin/busybox plus /bin/sh, /bin/ls, ... symlinks
#   layer 2: examples/hello/rootfs (a script under /app)
#   config : entrypoint, environment, working directory, labels
# and writes out/hello.tar, a docker-archive tagged hello:latest.
#
#   examples/hello/make-image.sh [OUT_TAR]
#
# Works offline; needs only build/docker-envs (scripts/build.sh) and busybox-static.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=${DE_CLI:-$root/build/docker-envs}
out=${1:-$root/out/hello.tar}
busybox=/bin/busybox

[[ -x "$cli" ]] || { echo "make-image: $cli not found; run scripts/build.sh first" >&2; exit 1; }
[[ -x "$busybox" ]] || { echo "make-image: $busybox not found; apt-get install busybox-static" >&2; exit 1; }
if command -v readelf >/dev/null 2>&1 && readelf -lW "$busybox" | grep -q INTERP; then
  echo "make-image: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

# Fixed timestamps: running this twice gives the same image digest.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The busybox layer: the binary and one symlink per applet the example uses.
mkdir -p "$work/busybox/bin"
for applet in sh ash ls cat echo env id pwd printf sleep; do
  ln -s busybox "$work/busybox/bin/$applet"
done

mkdir -p "$(dirname "$out")"
"$cli" image add-layer scratch "oci:$work/step1" \
  --file "$busybox:/bin/busybox" \
  --dir "$work/busybox/bin:/bin" \
  --created-by "busybox-static $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)"

"$cli" image add-layer "oci:$work/step1" "oci:$work/step2" \
  --dir "$here/rootfs:/" \
  --exclude '*~' \
  --created-by "examples/hello/rootfs"

"$cli" image config "oci:$work/step2" "docker-archive:$out:hello:latest" \
  --entrypoint '["/bin/sh","/app/hello.sh"]' \
  --env PATH=/bin \
  --env GREETING_FROM=docker-envs \
  --workdir /app \
  --label org.opencontainers.image.title=hello \
  --label org.opencontainers.image.description="busybox + a script, built without Docker"

echo "make-image: wrote $out (hello:latest)"
"$cli" image ls "docker-archive:$out" | sed 's/^/  /'
cat <<MSG

Load and run it with a Docker engine:
  docker load -i $out
  docker run --rm hello:latest
MSG
