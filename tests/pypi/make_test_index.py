#!/usr/bin/env python3
"""Writes a PEP 503 test index under DIR for tests/pypi/pip_compare_test.cpp.

DIR/files/ holds minimal wheels written here (METADATA, WHEEL, RECORD, one module), an sdist-only
project, and copies of Debian's wheels from /usr/share/python-wheels; DIR/simple/<name>/index.html
lists them with sha256 fragments, data-requires-python, data-yanked and, for some, PEP 658
metadata files (data-core-metadata). Usage: make_test_index.py DIR
"""
import base64
import hashlib
import html
import io
import os
import re
import shutil
import sys
import tarfile
import zipfile


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def metadata_text(name, version, requires=(), requires_python=None, extras=()):
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\n"


def write_wheel(files, name, version, tag="py3-none-any", **meta):
    dist = f"{name.replace('-', '_')}-{version}"
    filename = f"{dist}-{tag}.whl"
    md = metadata_text(name, version, **meta)
    members = {
        f"{name.replace('-', '_')}/__init__.py": f"__version__ = '{version}'\n",
        f"{dist}.dist-info/METADATA": md,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        + "".join(f"Tag: {t}\n" for t in expand(tag)),
    }
    record = []
    for path, text in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    members[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(os.path.join(files, filename), "w") as z:
        for path, text in members.items():
            z.writestr(path, text)
    return filename, md


def expand(tag):
    py, abi, plat = tag.split("-")
    return [f"{a}-{b}-{c}" for a in py.split(".") for b in abi.split(".") for c in plat.split(".")]


def write_sdist(files, name, version):
    filename = f"{name}-{version}.tar.gz"
    with tarfile.open(os.path.join(files, filename), "w:gz") as t:
        data = metadata_text(name, version).encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return filename


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(root):
    files = os.path.join(root, "files")
    os.makedirs(files, exist_ok=True)
    projects = {}  # normalised name -> [(filename, attrs)]

    def add(name, filename, requires_python=None, yanked=None, metadata=None):
        attrs = {}
        if requires_python:
            attrs["data-requires-python"] = requires_python
        if yanked is not None:
            attrs["data-yanked"] = yanked
        if metadata is not None:
            with open(os.path.join(files, filename + ".metadata"), "w") as f:
                f.write(metadata)
            attrs["data-core-metadata"] = "sha256=" + sha256(os.path.join(files, filename + ".metadata"))
        projects.setdefault(normalize(name), []).append((filename, attrs))

    def wheel(name, version, tag="py3-none-any", pep658=True, requires_python=None, yanked=None, **meta):
        filename, md = write_wheel(files, name, version, tag, requires_python=requires_python, **meta)
        add(name, filename, requires_python, yanked, md if pep658 else None)

    # Requires-Python: 2.0 needs a newer Python than the host's 3.11.
    wheel("alpha", "1.0", requires_python=">=3.8")
    wheel("alpha", "2.0", requires_python=">=3.99")
    # Platform tags: the most specific compatible wheel of the newest version wins.
    wheel("beta", "1.0")
    wheel("beta", "1.1", tag="py3-none-any")
    wheel("beta", "1.1", tag="cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")
    wheel("beta", "1.1", tag="cp311-cp311-manylinux_2_28_x86_64")
    wheel("beta", "1.1", tag="cp311-cp311-musllinux_1_1_x86_64")
    wheel("beta", "1.2", tag="cp399-cp399-manylinux_2_17_x86_64")
    wheel("beta", "1.3", tag="cp311-cp311-win_amd64")
    # Extras and markers.
    wheel("gamma", "1.0", extras=["fast", "old"],
          requires=["delta>=1; extra == 'fast'", "epsilon; extra == 'old' and python_version < '3'",
                    "zeta; sys_platform == 'linux'", "nothing-here; sys_platform == 'win32'",
                    "Eta_Pkg (>=1.0)"])
    wheel("delta", "1.0")
    wheel("delta", "2.0rc1")  # pre-releases only when asked
    wheel("epsilon", "1.0")
    wheel("zeta", "1.0", pep658=False)  # the metadata comes from the wheel itself
    wheel("zeta", "1.1", yanked="broken")  # yanked: only when pinned with ==
    wheel("eta-pkg", "1.0")
    add("eta-pkg", write_sdist(files, "eta-pkg", "2.0"))  # a newer sdist: never built
    # Conflicts.
    wheel("left", "1.0", requires=["shared<2"])
    wheel("right", "1.0", requires=["shared>=2"])
    wheel("shared", "1.0")
    wheel("shared", "2.0")
    # Debian's real wheels.
    for path in sorted(os.listdir("/usr/share/python-wheels")) if os.path.isdir("/usr/share/python-wheels") else []:
        if not path.endswith(".whl"):
            continue
        shutil.copy(os.path.join("/usr/share/python-wheels", path), files)
        name, version = path.split("-")[:2]
        with zipfile.ZipFile(os.path.join(files, path)) as z:
            md = next(n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            add(name, path, metadata=z.read(md).decode())

    for name, entries in projects.items():
        page_dir = os.path.join(root, "simple", name)
        os.makedirs(page_dir, exist_ok=True)
        links = []
        for filename, attrs in entries:
            extra = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
            href = f"../../files/{filename}#sha256={sha256(os.path.join(files, filename))}"
            links.append(f'<a href="{href}"{extra}>{filename}</a><br/>')
        with open(os.path.join(page_dir, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")


if __name__ == "__main__":
    main(sys.argv[1])
