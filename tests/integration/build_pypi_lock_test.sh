#!/usr/bin/env bash
# `docker-envs build conda-lock.yml` with `manager: pip` entries, everything served over HTTP on
# 127.0.0.1 (tests/support/channel_server.py): conda packages from a channel, wheels (one made
# here with a .data/scripts script and console_scripts, and Debian's wheel-*.whl when present)
# from the same server:
# - the wheels land in their own layers after the conda ones, installed into the environment's
#   python (site-packages, bin/ scripts with the image's interpreter, RECORD);
# - the host's python3 imports them from the extracted image and importlib.metadata agrees;
# - --dry-run --json lists the pip entries; a source distribution is refused by name;
# - changing one wheel rebuilds one layer.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
source "$DE_SOURCE_DIR/tests/support/channel_server.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache
cd "$TEST_TMP"

ch=$TEST_TMP/channel
make_pkg "$ch" noarch python 3.11.4
py=$CONDAPKG_LAST
make_pkg "$ch" noarch tool 1.0 "python"
tool=$CONDAPKG_LAST
condapkg_index "$ch"
mkdir -p "$ch/wheels"

make_wheel() {  # make_wheel DIR VALUE: demo_pkg-1.0-py3-none-any.whl whose module holds VALUE
  python3 - "$1" "$2" <<'PY' || die "could not make the test wheel"
import base64, hashlib, os, sys, zipfile
out, value = sys.argv[1], sys.argv[2]
files = {
    "demo_pkg/__init__.py": f"VALUE = {value!r}\ndef main():\n    print(VALUE)\n",
    "demo_pkg-1.0.data/scripts/demo-raw": "#!python\nimport demo_pkg; demo_pkg.main()\n",
    "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
    "demo_pkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    "demo_pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo_pkg:main\n",
}
record = ""
for name, text in files.items():
    data = text.encode()
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{name},sha256={h},{len(data)}\n"
record += "demo_pkg-1.0.dist-info/RECORD,,\n"
files["demo_pkg-1.0.dist-info/RECORD"] = record
with zipfile.ZipFile(os.path.join(out, "demo_pkg-1.0-py3-none-any.whl"), "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
PY
}
make_wheel "$ch/wheels" first
wheels=(demo_pkg-1.0-py3-none-any.whl)
debian_wheel=$(ls /usr/share/python-wheels/wheel-*-py3-none-any.whl 2>/dev/null | head -1 || true)
if [[ -n "$debian_wheel" ]]; then
  cp "$debian_wheel" "$ch/wheels/"
  wheels+=("$(basename "$debian_wheel")")
fi
start_channel_server "$ch"

sha() { sha256sum <"$1" | cut -c1-64; }
write_lock() {  # write_lock FILE [EXTRA_PIP_URL EXTRA_SHA]
  {
    echo "version: 1"
    echo "metadata:"
    echo "  platforms: [linux-64]"
    echo "  channels: [{url: '$CHANNEL_URL', used_env_vars: []}]"
    echo "package:"
    for p in "$py" "$tool"; do
      local f=$ch/noarch/$p.conda name=${p%%-*} rest=${p#*-}
      echo "- {name: $name, version: '${rest%%-*}', manager: conda, platform: linux-64," \
        "dependencies: {}, url: '$CHANNEL_URL/noarch/$p.conda', hash: {sha256: $(sha "$f")}," \
        "category: main, optional: false}"
    done
    for w in "${wheels[@]}"; do
      local name=${w%%-*} rest=${w#*-}
      echo "- {name: $name, version: '${rest%%-*}', manager: pip, platform: linux-64," \
        "dependencies: {}, url: '$CHANNEL_URL/wheels/$w', hash: {sha256: $(sha "$ch/wheels/$w")}," \
        "category: main, optional: false}"
    done
    if [[ $# -gt 1 ]]; then
      echo "- {name: sdistonly, version: '2.0', manager: pip, platform: linux-64," \
        "dependencies: {}, url: '$2', hash: {sha256: $3}, category: main, optional: false}"
    fi
  } >"$1"
}
write_lock conda-lock.yml

log "--dry-run --json lists the pip entries"
"$DE_CLI" build conda-lock.yml --base scratch --dry-run --json -o "oci:$TEST_TMP/img:1" \
  >plan.json 2>plan.err || { cat plan.err >&2; die "--dry-run failed"; }
python3 - plan.json "${#wheels[@]}" <<'PY' || die "the plan does not list the wheels"
import json, sys
plan = json.load(open(sys.argv[1]))
assert len(plan["pypi"]) == int(sys.argv[2]), plan["pypi"]
assert plan["pypi"][0]["name"] == "demo_pkg" and plan["pypi"][0]["cached"] is False, plan["pypi"]
labels = [l["label"] for l in plan["layers"]]
assert any(l.startswith("pypi demo_pkg") for l in labels), labels
PY

log "build: the wheels in their own layers, after the conda ones"
run_cli build conda-lock.yml --base scratch -o "oci:$TEST_TMP/img:1"
history=$(inspect "oci:$TEST_TMP/img:1" "[h.get('created_by', '') for h in j['config']['history']]")
assert_contains "$history" "pypi demo-pkg-1.0" "a layer for the wheel"
files=$("$DE_CLI" image ls "oci:$TEST_TMP/img:1")
sp=opt/conda/lib/python3.11/site-packages
for f in "$sp/demo_pkg/__init__.py" "$sp/demo_pkg-1.0.dist-info/RECORD" \
  "$sp/demo_pkg-1.0.dist-info/INSTALLER" opt/conda/bin/demo opt/conda/bin/demo-raw \
  "opt/conda/conda-meta/$tool.json"; do
  assert_contains "$files" "$f" "the image holds $f"
done
extract_image "oci:$TEST_TMP/img:1" "$TEST_TMP/root"
[[ "$(head -1 "$TEST_TMP/root/opt/conda/bin/demo")" == "#!/opt/conda/bin/python" ]] ||
  die "console script shebang: $(head -1 "$TEST_TMP/root/opt/conda/bin/demo")"
[[ "$(head -1 "$TEST_TMP/root/opt/conda/bin/demo-raw")" == "#!/opt/conda/bin/python" ]] ||
  die "#!python not rewritten: $(head -1 "$TEST_TMP/root/opt/conda/bin/demo-raw")"
[[ -x "$TEST_TMP/root/opt/conda/bin/demo" ]] || die "bin/demo is not executable"
python3 -S - "$TEST_TMP/root/$sp" <<'PY' || die "the host's python cannot use the installed wheels"
import base64, hashlib, os, sys
sys.path.insert(0, sys.argv[1])
import importlib.metadata as m, demo_pkg
assert demo_pkg.VALUE == "first", demo_pkg.VALUE
assert m.version("demo-pkg") == "1.0"
for dist in m.distributions(path=[sys.argv[1]]):
    for f in dist.files:
        if f.hash is None:
            continue
        data = f.read_binary()
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert h == f.hash.value and len(data) == f.size, f
PY
[[ -z "$debian_wheel" ]] || python3 -S -c "import sys; sys.path.insert(0, sys.argv[1]); import wheel" \
  "$TEST_TMP/root/$sp" || die "Debian's wheel does not import"

log "changing one wheel rebuilds one layer"
layer_digests "oci:$TEST_TMP/img:1" >before.txt
make_wheel "$ch/wheels" second
write_lock conda-lock.yml
run_cli build conda-lock.yml --base scratch -o "oci:$TEST_TMP/img2:1"
layer_digests "oci:$TEST_TMP/img2:1" >after.txt
[[ $(wc -l <before.txt) -eq $(wc -l <after.txt) ]] || die "the layer count changed"
changed=$(diff before.txt after.txt | grep -c '^>' || true)
[[ "$changed" == 1 ]] || die "$changed layers changed (expected 1): $(diff before.txt after.txt)"

log "a source distribution is refused by name"
echo "not really an sdist" >"$ch/wheels/sdistonly-2.0.tar.gz"
write_lock sdist-lock.yml "$CHANNEL_URL/wheels/sdistonly-2.0.tar.gz" "$(sha "$ch/wheels/sdistonly-2.0.tar.gz")"
rc=0
"$DE_CLI" build sdist-lock.yml --base scratch -o "oci:$TEST_TMP/sdist:1" >/dev/null 2>sdist.err || rc=$?
((rc != 0 && rc < 128)) || die "an sdist entry: exit $rc"
assert_contains "$(cat sdist.err)" "pypi package sdistonly is a source distribution" "sdist error"
[[ ! -e "$TEST_TMP/sdist" ]] || die "an image was written despite the sdist"
log "ok"
