#!/usr/bin/env bash
# `docker-envs build environment.yml` with a `- pip:` section, everything served over HTTP on
# 127.0.0.1 (tests/support/channel_server.py): a conda channel with a `python` package, and a
# PEP 503 index written by tests/pypi/make_test_index.py (generated wheels with extras, markers,
# Requires-Python, platform tags, a yanked version, an sdist; Debian's real wheels) plus a
# --find-links directory beside the environment file:
# - the pip section (${VAR} in --index-url, -r FILE, -f DIR, extras, markers) resolves for the
#   image's python 3.11 and installs after the conda packages, in their own layers;
# - site-packages holds every wheel with RECORD (hashes that match), INSTALLER, REQUESTED for the
#   roots only; the host's python3 imports them with the image's site-packages first on sys.path
#   and importlib.metadata reports the versions;
# - --dry-run --json lists the pip packages;
# - `lock` writes them as conda-lock `manager: pip` entries, without the index's credentials, and
#   a build from that lock asks no index and gives the same pip layers; `--lock --locked` sees
#   the lock fresh, and stale once a pip line changes;
# - `env install environment.yml` says to lock first; `env install` of the lock installs the wheels;
# - a conflict exits 3 naming the packages; an sdist-only project, and a pip section without a
#   python, give clear errors.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache
cd "$TEST_TMP"

ch=$TEST_TMP/channel
make_pkg "$ch" noarch python 3.11.4
make_pkg "$ch" noarch tool 1.0 "python"
make_pkg "$ch" noarch other 1.0
condapkg_index "$ch"
python3 "$DE_SOURCE_DIR/tests/pypi/make_test_index.py" "$ch/pypi" || die "make_test_index.py failed"
# A project with only a source distribution.
mkdir -p "$ch/pypi/simple/onlysrc"
tar -czf "$ch/pypi/files/onlysrc-1.0.tar.gz" -C "$TEST_TMP" --files-from /dev/null
echo "<a href=\"../../files/onlysrc-1.0.tar.gz#sha256=$(sha256sum <"$ch/pypi/files/onlysrc-1.0.tar.gz" | cut -c1-64)\">onlysrc-1.0.tar.gz</a>" \
  >"$ch/pypi/simple/onlysrc/index.html"
start_channel_server "$ch"

# A wheel with a console script, found through --find-links ./wheels.
mkdir -p wheels
python3 - wheels <<'PY' || die "could not make the find-links wheel"
import base64, hashlib, os, sys, zipfile
files = {
    "demo_pkg/__init__.py": "VALUE = 'found'\ndef main():\n    print(VALUE)\n",
    "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
    "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "demo_pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo_pkg:main\n",
}
record = ""
for name, text in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record += f"{name},sha256={h},{len(text.encode())}\n"
files["demo_pkg-1.0.dist-info/RECORD"] = record + "demo_pkg-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(os.path.join(sys.argv[1], "demo_pkg-1.0-py3-none-any.whl"), "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
PY

# The index is named through ${PIP_TEST_INDEX}, with credentials the server does not need: they
# must never be printed nor written.
export PIP_TEST_INDEX="http://tester:s3cret-pw@127.0.0.1:$CHANNEL_PORT/pypi/simple"
cat >reqs.txt <<'TXT'
# from -r: alpha 2.0 needs Python >= 3.99, so 1.0; beta's best wheel for cp311 manylinux_2_28
alpha
beta>=1.1 \
  ,<2
TXT
extra=""
# Debian's wheel, asked for by URL (`name @ URL`): direct_url.json (PEP 610), also from the lock.
wheel_url=file:///usr/share/python-wheels/wheel-0.38.4-py3-none-any.whl
[[ -e /usr/share/python-wheels/wheel-0.38.4-py3-none-any.whl ]] && extra="wheel @ $wheel_url"
write_env() {  # write_env FILE [PIP ITEM...]: python and tool from the channel, then the items
  local file=$1
  shift
  {
    echo "name: pipenv"
    echo "channels: ['$CHANNEL_URL']"
    echo "dependencies:"
    echo "  - python"
    echo "  - tool"
    echo "  - pip:"
    for item in "$@"; do echo "    - $item"; done
    echo "image:"
    echo "  base: scratch"
  } >"$file"
}
items=('--index-url ${PIP_TEST_INDEX}' 'gamma[fast]' '-r reqs.txt' '-f ./wheels' 'demo-pkg')
[[ -z "$extra" ]] || items+=("$extra")
write_env environment.yml "${items[@]}"
expected="alpha=1.0 beta=1.1 delta=1.0 demo-pkg=1.0 eta-pkg=1.0 gamma=1.0 zeta=1.0"
[[ -z "$extra" ]] || expected="$expected wheel=0.38.4"

log "--dry-run --json lists the pip packages"
"$DE_CLI" build environment.yml --dry-run --json -o "oci:$TEST_TMP/img:1" >plan.json 2>plan.err ||
  { cat plan.err >&2; die "--dry-run failed"; }
python3 - plan.json "$expected" <<'PY' || die "the plan does not list the pip packages"
import json, sys
plan = json.load(open(sys.argv[1]))
got = sorted(f"{p['name'].lower()}={p['version']}" for p in plan["pypi"])
want = sorted(sys.argv[2].split())
assert got == want, (got, want)
assert all("s3cret" not in p["url"] for p in plan["pypi"]), plan["pypi"]
assert any(l["label"].startswith("pypi ") or "pypi packages" in l["label"] for l in plan["layers"])
PY
! grep -q s3cret plan.json plan.err || die "the index password was printed by --dry-run"

log "build: the wheels after the conda packages, in their own layers"
"$DE_CLI" build environment.yml -o "oci:$TEST_TMP/img:1" >build.out 2>build.err ||
  { cat build.err >&2; die "build failed"; }
! grep -q s3cret build.out build.err || die "the index password was printed by build"
extract_image "oci:$TEST_TMP/img:1" "$TEST_TMP/root"
! grep -rq s3cret "$TEST_TMP/root" || die "the index password is in the image"
sp=$TEST_TMP/root/opt/conda/lib/python3.11/site-packages
[[ -f "$TEST_TMP/root/opt/conda/conda-meta/$(cd "$ch/noarch" && ls tool-1.0-*.conda | sed 's/\.conda$//').json" ]] ||
  die "the conda package tool is not installed"
[[ "$(head -1 "$TEST_TMP/root/opt/conda/bin/demo")" == "#!/opt/conda/bin/python" ]] ||
  die "console script: $(head -1 "$TEST_TMP/root/opt/conda/bin/demo")"
grep -q "cp311-cp311-manylinux_2_28_x86_64" "$sp/beta-1.1.dist-info/WHEEL" ||
  die "beta: not the cp311 manylinux_2_28 wheel: $(cat "$sp/beta-1.1.dist-info/WHEEL")"
python3 -S - "$sp" "$expected" <<'PY' || die "the host's python cannot use the installed wheels"
import base64, hashlib, importlib, os, sys
sp = sys.argv[1]
sys.path.insert(0, sp)
import importlib.metadata as m
want = dict(x.split("=") for x in sys.argv[2].split())
roots = {"alpha", "beta", "gamma", "demo-pkg", "wheel"}
for name, version in want.items():
    assert m.version(name) == version, (name, m.version(name), version)
    dist = m.distribution(name)
    assert dist.read_text("INSTALLER").strip() == "docker-envs", name
    requested = dist.read_text("REQUESTED") is not None
    assert requested == (name in roots), (name, requested)
    module = importlib.import_module(name.replace("-", "_"))
    assert os.path.realpath(module.__file__).startswith(os.path.realpath(sp)), module.__file__
    for f in dist.files:
        if f.hash is None:
            continue
        data = f.read_binary()
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert h == f.hash.value and len(data) == f.size, f
PY

if [[ -n "$extra" ]]; then
  grep -q "\"url\":\"$wheel_url\"" "$sp/wheel-0.38.4.dist-info/direct_url.json" ||
    die "wheel @ URL: no direct_url.json naming $wheel_url"
  [[ ! -e "$sp/gamma-1.0.dist-info/direct_url.json" ]] || die "gamma (from the index) has a direct_url.json"
fi

pip_layers() {  # the digests of the image's pypi layers, in order
  inspect "$1" "[l['digest'] for l, h in zip(j['layers'], [h for h in j['config']['history'] if not h.get('empty_layer')]) if 'pypi' in h.get('created_by', '')]"
}
pip_layers "oci:$TEST_TMP/img:1" >from-env.txt
[[ -s from-env.txt ]] || die "no pypi layer in the image"

log "lock: the wheels as manager: pip entries; a build from the lock asks no index"
"$DE_CLI" lock environment.yml -o env-lock.yml >lock.out 2>lock.err || { cat lock.err >&2; die "lock failed"; }
! grep -q s3cret env-lock.yml lock.out lock.err || die "the index password reached the lock or the output"
[[ $(grep -c "manager: pip" env-lock.yml) == $(wc -w <<<"$expected") ]] ||
  die "the lock has $(grep -c 'manager: pip' env-lock.yml) pip entries: $(cat env-lock.yml)"
grep -q '"delta": ">=1"' env-lock.yml || die "gamma's dependency on delta is not in the lock"
if [[ -n "$extra" ]]; then # conda-lock's mark of a requirement given by URL
  python3 - env-lock.yml "$wheel_url" <<'PY' || die "the lock does not mark wheel as given by URL"
import re, sys
entries = {}
for block in open(sys.argv[1]).read().split("\n  - name: ")[1:]:
    entries[block.split("\n", 1)[0].strip("'\"")] = block
source = re.compile(r"\n    source:\n      type: url\n      url: ['\"]?" + re.escape(sys.argv[2]))
assert source.search(entries["wheel"]), entries["wheel"]
assert "\n    source:" not in entries["gamma"], entries["gamma"]
PY
fi
rc=0
"$DE_CLI" lock environment.yml -o env.txt >/dev/null 2>explicit.err || rc=$?
((rc != 0 && rc < 128)) && [[ ! -e env.txt ]] || die "an @EXPLICIT lock of a pip section: exit $rc"
assert_contains "$(cat explicit.err)" "cannot be written in the @EXPLICIT format" "@EXPLICIT refusal"
index_asked=$(channel_requests "/pypi/simple/")
"$DE_CLI" build env-lock.yml --base scratch -o "oci:$TEST_TMP/from-lock:1" >/dev/null 2>fromlock.err ||
  { cat fromlock.err >&2; die "build from the lock failed"; }
[[ $(channel_requests "/pypi/simple/") == "$index_asked" ]] || die "the build from the lock asked the index"
pip_layers "oci:$TEST_TMP/from-lock:1" >from-lock.txt
diff from-env.txt from-lock.txt >/dev/null ||
  die "the pip layers differ between environment.yml and its lock: $(diff from-env.txt from-lock.txt)"

log "--lock --locked: the lock is fresh; a changed pip line makes it stale"
"$DE_CLI" build environment.yml --lock env-lock.yml --locked -o "oci:$TEST_TMP/locked:1" \
  >/dev/null 2>locked.err || { cat locked.err >&2; die "build --lock --locked failed"; }
assert_contains "$(cat locked.err)" "env-lock.yml matches environment.yml" "the lock is fresh"
pip_layers "oci:$TEST_TMP/locked:1" >from-locked.txt
diff from-env.txt from-locked.txt >/dev/null || die "the pip layers differ with --lock"
cp environment.yml changed.yml
sed -i 's/    - demo-pkg/    - demo-pkg >=1/' changed.yml
rc=0
"$DE_CLI" build changed.yml --lock env-lock.yml --locked -o "oci:$TEST_TMP/stale:1" \
  >/dev/null 2>stale.err || rc=$?
((rc != 0 && rc < 128)) || die "a stale lock with --locked: exit $rc"
assert_contains "$(cat stale.err)" "env-lock.yml is stale" "a changed pip line makes the lock stale"

log "env install: an environment.yml needs a lock; the lock installs the wheels"
rc=0
"$DE_CLI" env install environment.yml --root "$TEST_TMP/envroot" >/dev/null 2>install.err || rc=$?
((rc != 0 && rc < 128)) || die "env install environment.yml: exit $rc"
assert_contains "$(cat install.err)" "docker-envs lock environment.yml" "env install advice"
run_cli env install env-lock.yml --root "$TEST_TMP/lockroot"
[[ -f "$TEST_TMP/lockroot/opt/conda/lib/python3.11/site-packages/gamma-1.0.dist-info/RECORD" ]] ||
  die "env install of the lock did not install gamma"
cmp "$TEST_TMP/lockroot/opt/conda/lib/python3.11/site-packages/gamma-1.0.dist-info/RECORD" \
  "$sp/gamma-1.0.dist-info/RECORD" || die "env install and build wrote different RECORDs"

log "a conflict exits 3 naming the packages"
write_env conflict.yml "--index-url $CHANNEL_URL/pypi/simple" left right
rc=0
"$DE_CLI" build conflict.yml -o "oci:$TEST_TMP/conflict:1" >/dev/null 2>conflict.err || rc=$?
[[ $rc == 3 ]] || { cat conflict.err >&2; die "a conflict: exit $rc (expected 3)"; }
for name in shared left right; do assert_contains "$(cat conflict.err)" "$name" "the conflict names $name"; done
[[ ! -e "$TEST_TMP/conflict" ]] || die "an image was written despite the conflict"
rc=0
"$DE_CLI" lock conflict.yml -o conflict-lock.yml >/dev/null 2>lockconflict.err || rc=$?
[[ $rc == 3 && ! -e conflict-lock.yml ]] || die "lock of a conflict: exit $rc"

log "an sdist-only project is refused by name"
write_env sdist.yml "--index-url $CHANNEL_URL/pypi/simple" onlysrc
rc=0
"$DE_CLI" build sdist.yml -o "oci:$TEST_TMP/sdist:1" >/dev/null 2>sdist.err || rc=$?
((rc != 0 && rc < 128)) || die "an sdist-only project: exit $rc"
assert_contains "$(cat sdist.err)" "onlysrc" "the sdist error names the project"
assert_contains "$(cat sdist.err)" "source distribution" "the sdist error says why"

log "a pip section without a python is refused"
cat >nopython.yml <<YML
channels: ['$CHANNEL_URL']
dependencies:
  - other
  - pip:
    - alpha
image:
  base: scratch
YML
rc=0
"$DE_CLI" build nopython.yml -o "oci:$TEST_TMP/nopython:1" >/dev/null 2>nopython.err || rc=$?
((rc != 0 && rc < 128)) || die "no python: exit $rc"
assert_contains "$(cat nopython.err)" "nopython.yml:5: the pip section needs a python" "no-python error"
log "ok"
