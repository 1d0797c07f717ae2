#!/usr/bin/env python3
"""bench/bump_package.py SRC.conda OUTDIR: writes a new build of a .conda package to OUTDIR, with
one payload file changed (bytes appended to its largest file without a prefix placeholder), its
paths.json entry updated, and build number and build string bumped ("..._0" -> "..._1"). Prints the
new file's path. Used by bench/build.sh for "rebuild with one package changed". Needs the zstd
command (Python 3.11 has no zstd module)."""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile


def zstd(data, decompress=False):
    args = ["zstd", "-q", "-c"] + (["-d"] if decompress else ["-3"])
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def retar(members):
    """members: list of (TarInfo, bytes or None), in order; returns an uncompressed tar."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return out.getvalue()


def read_tar(data):
    members = []
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            members.append((m, t.extractfile(m).read() if m.isfile() else None))
    return members


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    dist = os.path.basename(src)[: -len(".conda")]
    z = zipfile.ZipFile(src)
    info = read_tar(zstd(z.read(f"info-{dist}.tar.zst"), decompress=True))
    pkg = read_tar(zstd(z.read(f"pkg-{dist}.tar.zst"), decompress=True))
    files = {i.name: d for i, d in info}
    index = json.loads(files["info/index.json"])
    paths = json.loads(files["info/paths.json"])
    prefixed = {p["_path"] for p in paths["paths"] if "prefix_placeholder" in p}
    candidates = [(len(d), i.name) for i, d in pkg if d is not None and i.name not in prefixed]
    if not candidates:
        sys.exit(f"bump_package: {src} has no file without a prefix placeholder")
    _, victim = max(candidates)
    pkg = [(i, d + b"\n# bumped by bench/bump_package.py\n" if i.name == victim else d) for i, d in pkg]
    new_data = dict((i.name, d) for i, d in pkg)[victim]
    for p in paths["paths"]:
        if p["_path"] == victim:
            p["sha256"] = hashlib.sha256(new_data).hexdigest()
            p["size_in_bytes"] = len(new_data)
    base, _, number = index["build"].rpartition("_")
    index["build_number"] = int(index.get("build_number", 0)) + 1
    index["build"] = f"{base}_{index['build_number']}" if number.isdigit() else index["build"] + "_1"
    new_dist = f"{index['name']}-{index['version']}-{index['build']}"
    files["info/index.json"] = json.dumps(index, sort_keys=True).encode()
    files["info/paths.json"] = json.dumps(paths, sort_keys=True).encode()
    info = [(i, files[i.name] if d is not None else None) for i, d in info]
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, new_dist + ".conda")
    with zipfile.ZipFile(out + ".tmp", "w", compression=zipfile.ZIP_STORED) as nz:
        nz.writestr("metadata.json", z.read("metadata.json"))
        nz.writestr(f"pkg-{new_dist}.tar.zst", zstd(retar(pkg)))
        nz.writestr(f"info-{new_dist}.tar.zst", zstd(retar(info)))
    os.replace(out + ".tmp", out)
    print(out)


if __name__ == "__main__":
    main()
