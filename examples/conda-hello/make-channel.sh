#!/usr/bin/env bash
# Creates the example's conda channel offline, from a Debian package this project already installs
# (busybox-static), with no conda and no network:
#
#   busybox     linux-64  bin/busybox (Debian's static busybox) and its applet links bin/sh, bin/ls...
#   hello-data  noarch    share/hello-data/greeting.txt
#   hello       noarch    bin/hello, a shell script whose shebang and body hold the placeholder prefix
#                         /opt/anaconda1anaconda2anaconda3 (declared in info/paths.json), so that once
#                         installed it prints the real prefix; it reads hello-data's greeting.
#                         Depends on busybox (its /bin/sh) and hello-data.
#
# Every package is written in both formats (.tar.bz2 and .conda) and listed in each subdir's
# repodata.json with its md5, sha256 and size; CHANNEL_DIR/explicit.txt is an @EXPLICIT lock of the
# environment (file:// URLs with sha256). The output is reproducible (SOURCE_DATE_EPOCH) for a given
# CHANNEL_DIR.
#
#   examples/conda-hello/make-channel.sh [CHANNEL_DIR]     (default: examples/conda-hello/channel)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
channel=${1:-$here/channel}
busybox=/bin/busybox
# shellcheck source=condapkg.sh
source "$here/condapkg.sh"

for tool in tar bzip2 zstd zip unzip sha256sum md5sum; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "make-channel: '$tool' not found; run scripts/install-deps.sh" >&2; exit 1; }
done
[[ -x "$busybox" ]] || { echo "make-channel: $busybox not found; apt-get install busybox-static" >&2; exit 1; }
if command -v readelf >/dev/null 2>&1 && readelf -lW "$busybox" | grep -q INTERP; then
  echo "make-channel: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built beside the destination and swapped in at the end: no half-written channel.
mkdir -p "$(dirname "$channel")"
new=$(mktemp -d "$channel.new.XXXXXX")
chmod 755 "$new"
trap 'rm -rf "$work" "$new"' EXIT

# busybox: the version Debian ships (1:1.35.0-4+b3 -> 1.35.0).
bb_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true)
bb_version=${bb_version#*:}
bb_version=${bb_version%%-*}
bb_version=${bb_version//[^0-9A-Za-z.]/_}
mkdir -p "$work/busybox/bin"
cp "$busybox" "$work/busybox/bin/busybox"
chmod 755 "$work/busybox/bin/busybox"
for applet in sh cat echo env ls printf pwd readlink sleep; do
  ln -s busybox "$work/busybox/bin/$applet"
done
condapkg_build "$work/busybox" "$new" linux-64 busybox "${bb_version:-1.0}" 0

mkdir -p "$work/hello-data/share/hello-data"
echo "Hello from a conda environment, built into an image without Docker!" \
  >"$work/hello-data/share/hello-data/greeting.txt"
condapkg_build "$work/hello-data" "$new" noarch hello-data 1.0 0

mkdir -p "$work/hello/bin"
cat >"$work/hello/bin/hello" <<SCRIPT
#!$CONDAPKG_PLACEHOLDER/bin/sh
# Installed with the placeholder replaced by the environment's prefix.
prefix=$CONDAPKG_PLACEHOLDER
echo "hello: my environment is \$prefix"
echo "hello: hello-data says: \$(cat "\$prefix/share/hello-data/greeting.txt")"
SCRIPT
chmod 755 "$work/hello/bin/hello"
condapkg_build "$work/hello" "$new" noarch hello 1.0 0 "busybox >=1" "hello-data 1.0.*"

condapkg_index "$new"
# A lock of the solved environment, dependencies first (what `conda list --explicit` writes), for
# building without a solve: docker-envs build CHANNEL/explicit.txt --base scratch ...
final=$(cd "$(dirname "$channel")" && pwd)/$(basename "$channel")
{
  echo "# platform: linux-64"
  echo "@EXPLICIT"
  for f in linux-64/busybox-*.conda noarch/hello-data-*.conda noarch/hello-1.0-*.conda; do
    f=$(cd "$new" && echo $f)
    echo "file://$final/$f#$(sha256sum <"$new/$f" | cut -c1-64)"
  done
} >"$new/explicit.txt"
rm -rf "$channel.old"
[[ ! -e "$channel" ]] || mv "$channel" "$channel.old"
mv "$new" "$channel"
rm -rf "$channel.old"
echo "make-channel: wrote $channel"
(cd "$channel" && ls -1 */*.conda */*.tar.bz2 | sed 's/^/  /')
