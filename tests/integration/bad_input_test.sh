#!/usr/bin/env bash
# Bad input gets a message naming the problem, a non-zero exit, and no partial output at DEST.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cli image copy
need_cmd tar openssl

cd "$TEST_TMP"

# expect_failure PATTERN DEST CLI-ARGS...: the command fails, stderr matches PATTERN, DEST absent.
expect_failure() {
  local pattern=$1 dest=$2 rc=0
  shift 2
  "$DE_CLI" "$@" >/dev/null 2>err.txt || rc=$?
  ((rc != 0)) || die "docker-envs $* succeeded on bad input"
  grep -Eq "$pattern" err.txt || die "docker-envs $*: message [$(cat err.txt)] does not match /$pattern/"
  [[ -z "$dest" || ! -e "$dest" ]] || die "docker-envs $*: partial output left at $dest"
  # Nothing half-written beside the destination either.
  if [[ -n "$dest" ]] && compgen -G "$(dirname "$dest")/.$(basename "$dest")*" >/dev/null; then
    die "temp files left beside $dest"
  fi
  log "refused as expected: $(head -c 200 err.txt)"
}

# make_archive OUT LAYER.tar: a docker-archive with one given (uncompressed) layer.
make_archive() {
  local out=$1 layer=$2 d diff
  d=$(mktemp -d archive.XXXX)
  diff=$(openssl dgst -sha256 -r "$layer" | cut -d' ' -f1)
  cp "$layer" "$d/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >"$d/config.json"
  printf '[{"Config":"config.json","RepoTags":["bad:1"],"Layers":["layer.tar"]}]' >"$d/manifest.json"
  tar -cf "$out" -C "$d" manifest.json config.json layer.tar
}

# A good image to break in various ways.
mkdir -p root/etc
echo hello >root/etc/hello
head -c 300000 /dev/urandom >root/etc/blob
run_cli image add-layer scratch docker-archive:good.tar:good:1 --dir root
run_cli image copy good.tar oci:layout:good

# 1. Truncated archive.
head -c $(($(stat -c %s good.tar) / 2)) good.tar >truncated.tar
expect_failure 'truncated|expected [0-9]+ more bytes|short' out1 image copy truncated.tar oci:out1

# 2. Manifest naming a missing blob.
cp -r layout missing
layer=$(ls -S missing/blobs/sha256 | head -1)
rm "missing/blobs/sha256/$layer"
expect_failure "$layer|No such file|not found" out2.tar image copy oci:missing:good docker-archive:out2.tar

# 3. Digest mismatch: one byte of the layer blob changed.
cp -r layout tampered
chmod -R u+w tampered
printf 'Z' | dd of="tampered/blobs/sha256/$layer" bs=1 seek=2000 conv=notrunc status=none
expect_failure 'does not match its digest|corrupt' out3.tar image copy oci:tampered:good docker-archive:out3.tar

# 4. manifest.json that is `null`.
printf 'null' >manifest.json
tar -cf null.tar manifest.json
expect_failure 'manifest.json is null' out4 image copy null.tar oci:out4

# 5. A layer entry whose '..' climbs out of the root.
mkdir -p evil/sub && echo x >evil/escape
(cd evil/sub && tar -cPf ../../dotdot-layer.tar ../escape)
tar -tf dotdot-layer.tar | grep -q '^\.\./escape$' || die "could not build a '..' layer"
make_archive dotdot.tar dotdot-layer.tar
expect_failure "\.\./escape|'\.\.'" "" image ls dotdot.tar

# 6. A layer entry with an absolute path.
tar -cPf abs-layer.tar "$TEST_TMP/evil/escape"
make_archive abs.tar abs-layer.tar
expect_failure 'absolute' "" image ls abs.tar

# 7. A layer blob swapped for another of the same size (digest and diffID both wrong): every
# command that reads it refuses it, `image ls` as `image copy` does.
mkdir -p other/etc
echo HELLO >other/etc/hello
cp root/etc/blob other/etc/blob
run_cli image add-layer scratch oci:plain:good --dir root --compression none
run_cli image add-layer scratch oci:otherplain:other --dir other --compression none
plain_layer=$(ls -S plain/blobs/sha256 | head -1)
other_layer=$(ls -S otherplain/blobs/sha256 | head -1)
cp -r plain swapped
chmod -R u+w swapped
cp "otherplain/blobs/sha256/$other_layer" "swapped/blobs/sha256/$plain_layer"
cmp -s plain/blobs/sha256/$plain_layer swapped/blobs/sha256/$plain_layer && die "swap failed"
[[ $(stat -c %s "plain/blobs/sha256/$plain_layer") == $(stat -c %s "swapped/blobs/sha256/$plain_layer") ]] ||
  die "the swapped blob should have the same size"
expect_failure 'does not match its digest' "" image ls oci:swapped:good
expect_failure 'does not match its digest' "" image ls --layer 0 oci:swapped:good
expect_failure 'does not match its digest' "" image ls --long oci:swapped:good
expect_failure 'does not match its digest' out7.tar image copy oci:swapped:good docker-archive:out7.tar

log "ok"
