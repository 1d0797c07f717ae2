#!/usr/bin/env bash
# "What changed" (issue 17 item 2): a rebuild of the same environment prints, in its summary, the
# packages added (+), removed (-) and changed (~) since the last build of that environment, and
# names the layers it rebuilt; --json carries the same as `changes`. A first build says nothing
# about changes (`changes` is null); a corrupt record is ignored with a -v note, never a failure;
# another image name is another environment; `cache ls` lists the records as the kind `builds`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
cd "$TEST_TMP"

ch=$TEST_TMP/channel
declare -A file # "b 1.1" -> its package file name
for p in "a 1.0" "b 1.0" "b 1.1" "c 1.0" "d 1.0"; do
  # shellcheck disable=SC2086
  make_pkg "$ch" noarch $p
  file[$p]=$CONDAPKG_LAST.conda
done
condapkg_index "$ch"
cache=$TEST_TMP/cache
flags=(--base scratch --layering per-package --cache-dir "$cache" --progress plain)
# lock "NAME VERSION"...: env.txt, an @EXPLICIT lock of those packages.
lock() {
  local p files=()
  for p in "$@"; do files+=("noarch/${file[$p]}"); done
  explicit_lock "$ch" "file://$ch" "${files[@]}" >"$TEST_TMP/env.txt"
}

# build OUT NAME [ARGS...]: builds env.txt; stderr in NAME.err, --json in NAME.json.
build() {
  local out=$1 name=$2
  shift 2
  "$DE_CLI" build "$TEST_TMP/env.txt" "${flags[@]}" --json -o "oci:$TEST_TMP/$out" "$@" \
    >"$name.json" 2>"$name.err" || { cat "$name.err" >&2; die "build $name failed"; }
}
json() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"; }

log "first build: nothing about changes"
lock "a 1.0" "b 1.0" "c 1.0"
build out1 first
cat first.err
grep -q "since the last build" first.err && die "a first build printed changes: $(cat first.err)"
assert_eq "None" "$(json first.json "j['changes']")" "--json changes of a first build"
assert_eq "1" "$(find "$cache/builds" -maxdepth 1 -name '*.json' | wc -l)" "records after one build"

log "b bumped, c removed, d added: the diff and the rebuilt layers"
lock "a 1.0" "b 1.1" "d 1.0"
build out2 second
cat second.err
python3 - second.err <<'PY' || die "the plain summary does not show the changes"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
i = next(i for i, l in enumerate(lines) if l.startswith("layers: "))
tail = lines[i + 1:]
assert re.fullmatch(r"changes since the last build \(latest, \d{4}-\d\d-\d\d \d\d:\d\d UTC\):", tail[0]), tail
assert tail[1:4] == ["  + d 1.0", "  - c 1.0", "  ~ b 1.0 → 1.1"], tail
# The layer list, wrapped at 80 columns: continuation lines are indented by 4.
rest = [tail[4]] + [l for l in tail[5:] if l.startswith("    ")]
assert all(len(l) < 80 for l in rest), rest
m = re.fullmatch(r"  rebuilt (\d+) of (\d+) layers: (.*)", " ".join(l.strip() if i else l for i, l in enumerate(rest)))
assert m, tail
names = m.group(3).split(", ")
has = lambda prefix: any(n.startswith(prefix) for n in names)
assert has("b-1.1-") and has("d-1.0-") and not has("a-1.0-"), tail
assert int(m.group(1)) == len(names) and int(m.group(2)) == 4, tail
PY
python3 - second.json first.json <<'PY' || die "--json changes are wrong: $(cat second.json)"
import json, sys
j, first = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c = j["changes"]
assert set(c) == {"previous", "added", "removed", "changed", "layers"}, c
assert c["previous"]["tag"] == "latest" and c["previous"]["manifest_digest"] == first["manifest_digest"], c
assert [(p["name"], p["version"], p["build"][-2:], p["pypi"]) for p in c["added"]] == [("d", "1.0", "_0", False)], c
assert [(p["name"], p["version"]) for p in c["removed"]] == [("c", "1.0")], c
assert [(p["name"], p["before"]["version"], p["after"]["version"]) for p in c["changed"]] == [("b", "1.0", "1.1")], c
rebuilt, reused = c["layers"]["rebuilt"], c["layers"]["reused"]
starts = lambda labels, prefix: any(l.startswith(prefix) for l in labels)
assert starts(rebuilt, "b-1.1-") and starts(rebuilt, "d-1.0-") and starts(reused, "a-1.0-"), c
# The same layers, and the same verdicts, as the build's own layer list.
assert sorted(rebuilt + reused) == sorted(l["label"] for l in j["layers"]), (c, j["layers"])
assert rebuilt == [l["label"] for l in j["layers"] if not l["reused"]], (c, j["layers"])
PY

log "the same lock again: no package changed, nothing rebuilt"
build out3 third
grep -qx "no package changed since the last build (latest, .* UTC)" third.err || die "no 'no package changed' line: $(cat third.err)"
grep -q "rebuilt" third.err && die "a rebuild of the same lock names rebuilt layers: $(cat third.err)"
assert_eq "[] [] [] []" "$(json third.json "j['changes']['added'], j['changes']['removed'], j['changes']['changed'], j['changes']['layers']['rebuilt']")" "changes of an unchanged rebuild"

log "a tag is the same environment, another image name another one"
build out4 tagged -t environment:2
grep -q "^no package changed since the last build (latest, " tagged.err || die "-t environment:2 not compared with :latest: $(cat tagged.err)"
build out5 other -t other
grep -q "since the last build" other.err && die "another image name was compared: $(cat other.err)"

log "a corrupt record is ignored with a -v note, and replaced"
for r in "$cache"/builds/*.json; do echo '{"format": 1, "identity": ' >"$r"; done
"$DE_CLI" -v build "$TEST_TMP/env.txt" "${flags[@]}" -o "oci:$TEST_TMP/out6" 2>corrupt.err ||
  { cat corrupt.err >&2; die "a corrupt build record failed the build"; }
grep -q "ignoring the last build record: $cache/builds/[0-9a-f]\{64\}\.json: " corrupt.err || die "no -v note about the corrupt record: $(cat corrupt.err)"
grep -q "since the last build" corrupt.err && die "changes printed from a corrupt record"
build out7 after-corrupt
grep -q "^no package changed since the last build" after-corrupt.err || die "the record was not replaced: $(cat after-corrupt.err)"

log "cache ls knows the records"
"$DE_CLI" cache ls --cache-dir "$cache" --json >ls.json
assert_eq "2" "$(json ls.json "j['kinds']['builds']['entries']")" "build records in cache ls"
log "ok"
