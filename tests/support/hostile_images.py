#!/usr/bin/env python3
"""Writes crafted (hostile) images for the hostile-input matrix (tests/integration/
hostile_matrix_test.sh, issue 13 item 20).

    hostile_images.py OUTDIR

writes OUTDIR/oci/NAME (OCI layouts) and OUTDIR/docker/NAME.tar (docker-archives) and prints one
line per fixture: FORMAT NAME KIND, KIND being `ok` (a valid image, the control), `content` (valid
blobs whose layer tar is hostile: only commands that read the tar must refuse it) or `corrupt`
(digests, structure or documents are wrong: every command that reads the bad part must refuse it).
Every layer is an uncompressed tar; each generator is a small function below.
"""
import hashlib
import io
import json
import os
import sys
import tarfile

OUT = sys.argv[1]
LAYER_MT = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"
INDEX_MT = "application/vnd.oci.image.index.v1+json"
CONFIG_MT = "application/vnd.oci.image.config.v1+json"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def tar_of(members, fmt=tarfile.PAX_FORMAT):
    """members: (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name, data=b"", type_=tarfile.REGTYPE, linkname="", pax=None):
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    info.mtime = 1700000000
    info.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
    if pax:
        info.pax_headers = pax
    if type_ == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


GOOD = tar_of([entry("etc", type_=tarfile.DIRTYPE), entry("etc/hello", b"hello\n")])

# Layer tars, each hostile in one way (all valid tar streams but the truncated one).
LAYERS = {
    "dotdot": tar_of([entry("../escape", b"x\n")]),
    "absolute": tar_of([entry("/tmp/de-hostile-absolute", b"x\n")]),
    "symlink-escape": tar_of([entry("lnk", type_=tarfile.SYMTYPE, linkname="/"),
                              entry("lnk/tmp/de-hostile-through-link", b"x\n")]),
    "symlink-dotdot": tar_of([entry("up", type_=tarfile.SYMTYPE, linkname="../../../.."),
                              entry("up/tmp/de-hostile-through-dotdot", b"x\n")]),
    "hardlink-escape": tar_of([entry("passwd", type_=tarfile.LNKTYPE, linkname="/etc/passwd")]),
    "hardlink-dotdot": tar_of([entry("hl", type_=tarfile.LNKTYPE, linkname="../../etc/passwd")]),
    # A 12 MiB pax record (a comment) before a small file.
    "huge-pax": tar_of([entry("big", b"x", pax={"comment": "c" * (12 << 20)})]),
    # A pax path of 1 MiB.
    "long-pax-path": tar_of([entry("a/" * (512 << 10) + "f", b"x")]),
    "truncated-tar": GOOD[: 512 + 3],
    "garbage-tar": b"\x01not a tar at all" * 64,
}


def config_for(diff_ids, extra=None):
    c = {"architecture": "amd64", "os": "linux", "config": {},
         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]}}
    if extra:
        c.update(extra)
    return json.dumps(c).encode()


class Oci:
    """An OCI layout being written."""

    def __init__(self, name):
        self.dir = os.path.join(OUT, "oci", name)
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"))
        with open(os.path.join(self.dir, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def blob_path(self, digest_hex):
        return os.path.join(self.dir, "blobs", "sha256", digest_hex)

    def put(self, data):
        with open(self.blob_path(sha(data)), "wb") as f:
            f.write(data)
        return sha(data)

    def image(self, layers, config=None, manifest_mt=MANIFEST_MT, config_mt=CONFIG_MT):
        """Writes layers, config and manifest; returns the manifest descriptor."""
        descs = [{"mediaType": LAYER_MT, "digest": "sha256:" + self.put(l), "size": len(l)}
                 for l in layers]
        config = config if config is not None else config_for([sha(l) for l in layers])
        manifest = json.dumps({"schemaVersion": 2, "mediaType": manifest_mt,
                               "config": {"mediaType": config_mt, "digest": "sha256:" + self.put(config),
                                          "size": len(config)},
                               "layers": descs}).encode()
        return {"mediaType": manifest_mt, "digest": "sha256:" + self.put(manifest), "size": len(manifest)}

    def index(self, descs):
        with open(os.path.join(self.dir, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": descs}, f)


def docker_archive(name, layers, config=None, manifest=None, members=None):
    """A docker-archive: manifest.json, config, one file per layer (or `members` as given)."""
    path = os.path.join(OUT, "docker", name + ".tar")
    config = config if config is not None else config_for([sha(l) for l in layers])
    names = ["%d/layer.tar" % i for i in range(len(layers))]
    if manifest is None:
        manifest = json.dumps([{"Config": "config.json", "RepoTags": ["hostile:1"],
                                "Layers": names}]).encode()
    all_members = [entry("manifest.json", manifest), entry("config.json", config)]
    all_members += [entry(n, l) for n, l in zip(names, layers)]
    all_members += members or []
    with open(path, "wb") as f:
        f.write(tar_of(all_members, tarfile.GNU_FORMAT))
    return path


fixtures = []


def oci_fixture(name, kind, build):
    o = Oci(name)
    build(o)
    fixtures.append(("oci", name, kind))


def docker_fixture(name, kind, **kw):
    docker_archive(name, **kw)
    fixtures.append(("docker", name, kind))


os.makedirs(os.path.join(OUT, "oci"))
os.makedirs(os.path.join(OUT, "docker"))

# --- the control -----------------------------------------------------------------------------
oci_fixture("ok", "ok", lambda o: o.index([o.image([GOOD])]))
docker_fixture("ok", "ok", layers=[GOOD])

# --- hostile layer content -------------------------------------------------------------------
for name, layer in LAYERS.items():
    oci_fixture(name, "content", lambda o, l=layer: o.index([o.image([l])]))
    docker_fixture(name, "content", layers=[layer])


# --- corrupt OCI layouts -----------------------------------------------------------------------
def bad_digest(o):
    d = o.image([GOOD])
    o.index([d])
    layer = o.blob_path(sha(GOOD))
    data = bytearray(open(layer, "rb").read())
    data[600] ^= 0xFF
    open(layer, "wb").write(bytes(data))


def diffid_mismatch(o):
    o.index([o.image([GOOD], config=config_for([sha(b"something else")]))])


def missing_layer(o):
    o.index([o.image([GOOD])])
    os.remove(o.blob_path(sha(GOOD)))


def missing_config(o):
    config = config_for([sha(GOOD)])
    o.index([o.image([GOOD], config=config)])
    os.remove(o.blob_path(sha(config)))


def missing_manifest(o):
    o.index([{"mediaType": MANIFEST_MT, "digest": "sha256:" + "0" * 64, "size": 100}])


def fifo_layer(o):
    o.index([o.image([GOOD])])
    os.remove(o.blob_path(sha(GOOD)))
    os.mkfifo(o.blob_path(sha(GOOD)))


def fifo_index(o):
    o.image([GOOD])
    os.mkfifo(os.path.join(o.dir, "index.json"))


def wrong_manifest_mt(o):
    d = o.image([GOOD], manifest_mt=CONFIG_MT)
    o.index([d])


def config_mt_as_layer(o):
    d = o.image([GOOD], config_mt=LAYER_MT)
    o.index([d])


def config_not_json(o):
    o.index([o.image([GOOD], config=b"not json {")])


def deep_json_config(o):
    o.index([o.image([GOOD], config=b"[" * 200000 + b"]" * 200000)])


def deep_json_index(o):
    o.image([GOOD])
    with open(os.path.join(o.dir, "index.json"), "w") as f:
        f.write('{"schemaVersion":2,"manifests":' + "[" * 200000 + "]" * 200000 + "}")


def index_self_reference(o):
    # A blob named X that lists X: its bytes cannot hash to X, so the digest check must stop it.
    fake = "ab" * 32
    body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": [
        {"mediaType": INDEX_MT, "digest": "sha256:" + fake, "size": 200}]}).encode()
    open(o.blob_path(fake), "wb").write(body)
    o.index([{"mediaType": INDEX_MT, "digest": "sha256:" + fake, "size": len(body)}])


def index_too_deep(o):
    d = o.image([GOOD])
    for _ in range(40):
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": [d]}).encode()
        d = {"mediaType": INDEX_MT, "digest": "sha256:" + o.put(body), "size": len(body)}
    o.index([d])


def index_fan_out(o):
    # One index listing the same inner index 64 times, three levels down: 64^3 images if followed.
    d = o.image([GOOD])
    d["platform"] = {"os": "linux", "architecture": "amd64"}
    for _ in range(3):
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": [d] * 64}).encode()
        d = {"mediaType": INDEX_MT, "digest": "sha256:" + o.put(body), "size": len(body)}
    o.index([d])


def huge_size_claim(o):
    d = o.image([GOOD])
    d["size"] = 1 << 62
    o.index([d])


def layer_size_lie(o):
    manifest = json.loads(open(o.blob_path(o.image([GOOD])["digest"][7:])).read())
    manifest["layers"][0]["size"] = 10
    body = json.dumps(manifest).encode()
    o.index([{"mediaType": MANIFEST_MT, "digest": "sha256:" + o.put(body), "size": len(body)}])


def bad_digest_string(o):
    o.image([GOOD])
    with open(os.path.join(o.dir, "index.json"), "w") as f:
        f.write('{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"sha256:../../../etc/passwd","size":10}]}' % MANIFEST_MT)


def symlinked_blob(o):
    o.index([o.image([GOOD])])
    os.remove(o.blob_path(sha(GOOD)))
    os.symlink("/etc/passwd", o.blob_path(sha(GOOD)))


for name, build in [("bad-digest", bad_digest), ("diffid-mismatch", diffid_mismatch),
                    ("missing-layer", missing_layer), ("missing-config", missing_config),
                    ("missing-manifest", missing_manifest), ("fifo-layer", fifo_layer),
                    ("fifo-index", fifo_index), ("wrong-manifest-mt", wrong_manifest_mt),
                    ("config-mt-as-layer", config_mt_as_layer), ("config-not-json", config_not_json),
                    ("deep-json-config", deep_json_config), ("deep-json-index", deep_json_index),
                    ("index-self-reference", index_self_reference), ("index-too-deep", index_too_deep),
                    ("index-fan-out", index_fan_out), ("huge-size-claim", huge_size_claim),
                    ("layer-size-lie", layer_size_lie), ("bad-digest-string", bad_digest_string),
                    ("symlinked-blob", symlinked_blob)]:
    oci_fixture(name, "corrupt", build)

# --- corrupt docker-archives -------------------------------------------------------------------
docker_fixture("diffid-mismatch", "corrupt", layers=[GOOD], config=config_for([sha(b"other")]))
docker_fixture("missing-layer", "corrupt", layers=[],
               config=config_for([sha(GOOD)]),
               manifest=json.dumps([{"Config": "config.json", "Layers": ["0/layer.tar"]}]).encode())
docker_fixture("missing-config", "corrupt", layers=[GOOD],
               manifest=json.dumps([{"Config": "nothere.json", "Layers": ["0/layer.tar"]}]).encode())
docker_fixture("fifo-layer", "corrupt", layers=[], config=config_for([sha(GOOD)]),
               manifest=json.dumps([{"Config": "config.json", "Layers": ["0/layer.tar"]}]).encode(),
               members=[entry("0/layer.tar", type_=tarfile.FIFOTYPE)])
docker_fixture("config-not-json", "corrupt", layers=[GOOD], config=b"not json {")
docker_fixture("deep-json-config", "corrupt", layers=[GOOD], config=b"[" * 200000 + b"]" * 200000)
docker_fixture("deep-json-manifest", "corrupt", layers=[GOOD], manifest=b"[" * 200000 + b"]" * 200000)
docker_fixture("manifest-not-json", "corrupt", layers=[GOOD], manifest=b"{{{")
docker_fixture("dotdot-member", "corrupt", layers=[GOOD],
               manifest=json.dumps([{"Config": "config.json", "Layers": ["../../../etc/passwd"]}]).encode())
docker_fixture("absolute-member", "corrupt", layers=[GOOD],
               manifest=json.dumps([{"Config": "/etc/passwd", "Layers": ["0/layer.tar"]}]).encode())
docker_fixture("symlink-member", "corrupt", layers=[], config=config_for([sha(b"root:x:0:0")]),
               manifest=json.dumps([{"Config": "config.json", "Layers": ["0/layer.tar"]}]).encode(),
               members=[entry("0/layer.tar", type_=tarfile.SYMTYPE, linkname="/etc/passwd")])
docker_fixture("layer-count-mismatch", "corrupt", layers=[GOOD], config=config_for([sha(GOOD), sha(GOOD)]))
docker_fixture("truncated-archive", "corrupt", layers=[GOOD])
path = os.path.join(OUT, "docker", "truncated-archive.tar")
data = open(path, "rb").read()
open(path, "wb").write(data[: len(data) // 2])

for f in fixtures:
    print(*f)
