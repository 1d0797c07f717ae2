#!/usr/bin/env bash
# `docker-envs build --from-prefix PREFIX`: an environment made by `docker-envs env install` from a
# file:// channel becomes an image whose conda-meta records are the environment's, byte for byte;
# a file no record owns is named in a warning (and not put into the image); Python bytecode and
# conda-meta/ are not reported.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
need_cli env
export XDG_CACHE_HOME=$TEST_TMP/cache
cd "$TEST_TMP"

ch=$TEST_TMP/channel
make_pkg "$ch" noarch pfa 1.0
pfa=$CONDAPKG_LAST
make_pkg "$ch" noarch pfb 3.1 "pfa"
pfb=$CONDAPKG_LAST
condapkg_index "$ch"
explicit_lock "$ch" "file://$ch" "noarch/$pfa.conda" "noarch/$pfb.conda" >lock.txt
run_cli env install lock.txt --root "$TEST_TMP/root" --prefix /opt/conda
prefix=$TEST_TMP/root/opt/conda
assert_file "$prefix/conda-meta/$pfb.json"

log "an environment becomes an image with the same conda-meta records"
"$DE_CLI" build --from-prefix "$prefix" --base scratch -o "oci:$TEST_TMP/img:1" >/dev/null 2>clean.err ||
  { cat clean.err >&2; die "build --from-prefix failed"; }
[[ "$(cat clean.err)" != *"no package record owns"* ]] || die "a clean prefix was warned about: $(cat clean.err)"
extract_image "oci:$TEST_TMP/img:1" "$TEST_TMP/x"
for f in "$prefix"/conda-meta/*.json; do
  cmp "$f" "$TEST_TMP/x/opt/conda/conda-meta/$(basename "$f")" ||
    die "conda-meta/$(basename "$f") differs between the environment and the image"
done
n_env=$(ls "$prefix"/conda-meta/*.json | wc -l)
n_img=$(ls "$TEST_TMP"/x/opt/conda/conda-meta/*.json | wc -l)
assert_eq "$n_env" "$n_img" "number of conda-meta records"
cmp "$prefix/share/pfb/data.bin" "$TEST_TMP/x/opt/conda/share/pfb/data.bin" || die "pfb's payload differs"

log "a file that no record owns is named in a warning, not copied"
echo "pip-installed" >"$prefix/share/unowned-by-pip.txt"
mkdir -p "$prefix/lib/__pycache__"
echo bytecode >"$prefix/lib/__pycache__/x.cpython-312.pyc"
"$DE_CLI" build --from-prefix "$prefix" --base scratch -o "oci:$TEST_TMP/img2:1" >/dev/null 2>warn.err ||
  { cat warn.err >&2; die "build --from-prefix with an unowned file failed"; }
warn=$(cat warn.err)
assert_contains "$warn" "1 file(s) that no package record owns" "unowned warning"
assert_contains "$warn" "share/unowned-by-pip.txt" "unowned warning names the file"
[[ "$warn" != *"__pycache__"* ]] || die "bytecode was reported: $warn"
"$DE_CLI" image ls "oci:$TEST_TMP/img2:1" | grep -q unowned-by-pip && die "the unowned file was copied"

log "--dry-run lists the records' packages with their hashes"
"$DE_CLI" build --from-prefix "$prefix" --base scratch --dry-run --json >plan.json 2>/dev/null ||
  die "--from-prefix --dry-run failed"
python3 - "$prefix" plan.json <<'PY' || die "the dry run does not list the prefix's records"
import glob, json, os, sys
prefix, plan = sys.argv[1], json.load(open(sys.argv[2]))
records = {}
for f in glob.glob(os.path.join(prefix, "conda-meta", "*.json")):
    r = json.load(open(f))
    records[r["name"]] = r
got = {p["name"]: p for p in plan["packages"]}
assert set(got) == set(records), (set(got), set(records))
for name, r in records.items():
    assert got[name]["sha256"] == r["sha256"], name
    assert got[name]["url"] == r["url"], name
    assert got[name]["version"] == r["version"] and got[name]["build"] == r["build"], name
PY

log "not an environment"
rc=0
"$DE_CLI" build --from-prefix "$TEST_TMP/channel" --base scratch >/dev/null 2>notenv.err || rc=$?
((rc != 0 && rc < 128)) || die "--from-prefix of a non-environment: exit $rc"
assert_contains "$(cat notenv.err)" "no conda-meta directory" "not an environment"
log "ok"
