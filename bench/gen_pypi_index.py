#!/usr/bin/env python3
"""Writes the PyPI index of bench/pypi.sh under DIR: a PEP 503 simple index with PEP 658 metadata
files, 40 distributions to install and older versions beside them, and DIR/req.txt.

  gen_pypi_index.py DIR

- 37 generated projects bench-00 ... bench-36, three versions each (1.0, 1.5, 2.0; the newest is
  installed), a dependency graph among them (each requires up to three later ones, with
  specifiers, a marker or an extra now and then), 16 modules of ~3 KB each and a console script;
- Debian's real wheels from /usr/share/python-wheels (pip, setuptools, wheel: python3-pip-whl and
  friends), required by some of the generated ones;
- req.txt names the 8 roots of the graph (one with an extra) and the 3 real wheels.

Project pages carry sha256 fragments, data-requires-python on some files and both PEP 658
(data-dist-info-metadata, what pip 23.0 reads) and PEP 714 (data-core-metadata) attributes.
Everything is deterministic (fixed zip dates, a seeded generator).
"""
import base64
import hashlib
import html
import os
import random
import re
import shutil
import sys
import zipfile

GENERATED = 37
ROOTS = 8
VERSIONS = ["1.0", "1.5", "2.0"]


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def module_text(rng, name, i):
    lines = [f'"""{name} module {i}: generated for the docker-envs PyPI benchmark."""', ""]
    for f in range(24):
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "value", "item", "count",
                                     "total", "result", "state"]) for _ in range(6))
        lines += [f"def function_{f}(x, y=None):", f'    """{words}."""',
                  f"    return (x * {rng.randint(1, 999)} + {rng.randint(1, 999)}) % {rng.randint(2, 97)}",
                  ""]
    return "\n".join(lines) + "\n"


def write_wheel(files, rng, name, version, requires, extras, requires_python):
    mod = name.replace("-", "_")
    dist = f"{mod}-{version}"
    md = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
          f"Summary: {name} for the benchmark"]
    if requires_python:
        md.append(f"Requires-Python: {requires_python}")
    md += [f"Provides-Extra: {e}" for e in extras]
    md += [f"Requires-Dist: {r}" for r in requires]
    metadata = ("\n".join(md) + "\n\n").encode()
    members = {f"{mod}/__init__.py": f"__version__ = '{version}'\n".encode()}
    for i in range(16):
        members[f"{mod}/module_{i:02d}.py"] = module_text(rng, name, i).encode()
    members[f"{dist}.dist-info/METADATA"] = metadata
    members[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: gen_pypi_index\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    members[f"{dist}.dist-info/entry_points.txt"] = (
        f"[console_scripts]\n{name}-tool = {mod}.module_00:function_0\n".encode())
    members[f"{dist}.dist-info/top_level.txt"] = f"{mod}\n".encode()
    rows = [f"{p},{record_hash(d)},{len(d)}" for p, d in members.items()]
    rows.append(f"{dist}.dist-info/RECORD,,")
    members[f"{dist}.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    filename = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(files, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in members.items():
            z.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return filename, metadata


def main(root):
    rng = random.Random(15)
    files = os.path.join(root, "files")
    os.makedirs(files, exist_ok=True)
    projects = {}  # normalised name -> [(filename, attrs)]

    def add(name, filename, metadata, requires_python=None):
        with open(os.path.join(files, filename + ".metadata"), "wb") as f:
            f.write(metadata)
        digest = "sha256=" + sha256(metadata)
        attrs = {"data-dist-info-metadata": digest, "data-core-metadata": digest}
        if requires_python:
            attrs["data-requires-python"] = requires_python
        projects.setdefault(normalize(name), []).append((filename, attrs))

    real = []
    for path in sorted(os.listdir("/usr/share/python-wheels")):
        if path.endswith(".whl") and path.split("-")[0] in ("pip", "setuptools", "wheel"):
            shutil.copy(os.path.join("/usr/share/python-wheels", path), files)
            with zipfile.ZipFile(os.path.join(files, path)) as z:
                md = next(n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
                add(path.split("-")[0], path, z.read(md))
            real.append(path.split("-")[0])
    if len(real) != 3:
        sys.exit("gen_pypi_index.py: needs pip, setuptools and wheel in /usr/share/python-wheels "
                 "(Debian's python3-pip-whl, python3-setuptools-whl, python3-wheel-whl)")

    names = [f"bench-{i:02d}" for i in range(GENERATED)]
    for i, name in enumerate(names):
        later = names[i + 1:]
        deps = rng.sample(later, min(len(later), rng.randint(1, 3)))
        # Every project is reachable from the roots: the one after it is always required by it or
        # by a root.
        if i + 1 < GENERATED and names[i + 1] not in deps and i + 1 >= ROOTS:
            deps.append(names[i + 1])
        requires = [f"{d}>=1.5" for d in deps]
        extras = []
        if i % 5 == 0:
            requires.append(f"{real[i % 3]}; python_version >= '3.7'")
        if i % 7 == 3:
            requires.append("nonexistent-windows-only; sys_platform == 'win32'")
        if i % 9 == 4 and i + 2 < GENERATED:
            extras = ["speed"]
            requires.append(f"{names[i + 2]}>=1.0; extra == 'speed'")
        for v in VERSIONS:
            python = ">=3.8" if i % 4 == 0 else None
            filename, md = write_wheel(files, rng, name, v, requires, extras, python)
            add(name, filename, md, python)

    for name, entries in projects.items():
        page_dir = os.path.join(root, "simple", name)
        os.makedirs(page_dir, exist_ok=True)
        links = []
        for filename, attrs in entries:
            with open(os.path.join(files, filename), "rb") as f:
                digest = sha256(f.read())
            extra = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
            links.append(f'<a href="../../files/{filename}#sha256={digest}"{extra}>{filename}</a><br/>')
        with open(os.path.join(page_dir, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    with open(os.path.join(root, "req.txt"), "w") as f:
        for name in names[:ROOTS] + real:
            f.write(name + ("[speed]" if name == "bench-04" else "") + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
