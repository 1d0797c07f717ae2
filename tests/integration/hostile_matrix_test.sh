#!/usr/bin/env bash
# The hostile-input matrix (issue 13 item 20): every image command × crafted images
# (tests/support/hostile_images.py: bad digests, diffID mismatch, `..`/absolute paths, link
# escapes, huge pax headers, truncated tars, index self-reference/depth/fan-out, missing and FIFO
# blobs, wrong media types, config not JSON, deep JSON) × formats (oci:, docker-archive:, and a
# registry as the push destination). Each cell must: exit below 128 within the time limit; on
# failure print a message that names the input (or the destination it was writing), leave no DEST
# and no temp files beside it; and never write anywhere else (the test directory is snapshotted
# around every run; nothing may appear at the /tmp paths the layers aim at). `ok` fixtures must
# succeed everywhere (the control), and commands that read a broken part must refuse it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_cmd python3 timeout
need_cli image copy

cd "$TEST_TMP"
FIX=$TEST_TMP/fixtures
mkdir -p out host logs cache
python3 "$DE_SOURCE_DIR/tests/support/hostile_images.py" "$FIX" >logs/fixtures.txt
echo added >host/added.txt

REG=
if command -v docker-registry >/dev/null; then
  source "$DE_SOURCE_DIR/tests/support/registry.sh"
  export XDG_CACHE_HOME=$TEST_TMP/cache DOCKER_CONFIG=$TEST_TMP/docker-empty
  start_registry hostile
  REG=127.0.0.1:$REG_PORT
fi

# What the commands may touch: nothing outside out/ (the fixtures, host/, the test directory). The
# tree is listed once before the matrix and compared after every cell (find lists an unchanged
# tree in the same order); a cell that changed it is reported and the listing taken anew. Each cell
# runs few processes: the matrix has ~600 cells, and every fork costs milliseconds.
shopt -s nullglob dotglob
snapshot() {
  find "$TEST_TMP" \( -path "$TEST_TMP/out" -o -path "$TEST_TMP/logs" -o -path "$TEST_TMP/cache" \
    -o -path "$TEST_TMP/hostile" -o -path "$TEST_TMP/.cli-stderr" \) -prune -o -printf '%p %s %T@ %y %m\n'
}
baseline=$(snapshot)

failures=0
cells=0
fail_cell() {
  echo "[$TEST_NAME] CELL FAIL: $*" >&2
  failures=$((failures + 1))
}

# run_cell FORMAT NAME KIND CMD DESTKIND ARGS...: one cell of the matrix.
run_cell() {
  local format=$1 name=$2 kind=$3 cmd=$4 destkind=$5 rc=0 dest="" after
  shift 5
  local args=("$@") i
  case $destkind in
    oci) dest=$TEST_TMP/out/dest ;;
    tar) dest=$TEST_TMP/out/dest.tar ;;
  esac
  for i in "${!args[@]}"; do args[i]=${args[i]//@DEST@/$dest}; done
  local left=("$TEST_TMP"/out/*)
  ((${#left[@]} == 0)) || rm -rf -- "${left[@]}"
  timeout 60 "$DE_CLI" "${args[@]}" >logs/cell.out 2>logs/cell.err || rc=$?
  after=$(snapshot)
  cells=$((cells + 1))
  local what="$cmd × $format:$name (rc $rc)"
  if ((rc >= 124)); then
    fail_cell "$what: crashed or hung: $(head -c 300 logs/cell.err)"
    return 0
  fi
  if [[ "$baseline" != "$after" ]]; then
    fail_cell "$what: wrote outside DEST: $(diff <(sort <<<"$baseline") <(sort <<<"$after") | head -5)"
    baseline=$after
  fi
  local escapes=(/tmp/de-hostile-*)
  if ((${#escapes[@]})); then
    fail_cell "$what: wrote ${escapes[*]}"
    rm -f -- "${escapes[@]}"
  fi
  if ((rc == 0)); then
    [[ $kind != ok ]] && [[ " ${MUST_FAIL[$kind]} " == *" $cmd "* ]] &&
      fail_cell "$what: accepted a $kind image"
    return 0
  fi
  local message=""
  IFS= read -r -d '' message <logs/cell.err || true
  [[ $kind == ok ]] && { fail_cell "$what: the control failed: ${message:0:300}"; return 0; }
  [[ -n "$message" ]] || fail_cell "$what: failed without a message"
  [[ "$message" == *"$name"* || "$message" == *"$TEST_TMP/out"* || "$message" == *"docker://"* ]] ||
    fail_cell "$what: the message does not name the input: $message"
  if [[ -n "$dest" ]]; then
    [[ ! -e "$dest" && ! -L "$dest" ]] || fail_cell "$what: DEST left behind after the failure"
    left=("$TEST_TMP"/out/*)
    ((${#left[@]} == 0)) || fail_cell "$what: files left beside DEST: ${left[*]##*/}"
  fi
}

# Commands that read every part of an image (config, manifest, every layer's bytes and entries):
# each must refuse a broken image. `content` images have valid blobs whose tar is hostile: listing
# must refuse them (copying bytes verbatim may succeed).
declare -A MUST_FAIL=(
  [corrupt]="ls copy-oci copy-docker-archive add-layer config"
  [content]="ls ls-layer"
  [listable]=""
  [ok]=""
)
# Layer tars that a listing may show (they are listed, never extracted here), so ls may succeed.
LISTABLE="symlink-escape symlink-dotdot hardlink-escape hardlink-dotdot huge-pax long-pax-path"

start=$SECONDS
while read -r format name kind; do
  case $format in
    oci) src=oci:$FIX/oci/$name ;;
    docker) src=docker-archive:$FIX/docker/$name.tar ;;
  esac
  k=$kind
  [[ $kind == content && " $LISTABLE " == *" $name "* ]] && k=listable
  run_cell "$format" "$name" "$k" inspect "" image inspect "$src"
  run_cell "$format" "$name" "$k" ls "" image ls "$src"
  run_cell "$format" "$name" "$k" ls-layer "" image ls --layer 0 --long "$src"
  run_cell "$format" "$name" "$k" copy-oci oci image copy "$src" "oci:@DEST@"
  run_cell "$format" "$name" "$k" copy-zstd oci image copy --compression zstd "$src" "oci:@DEST@"
  run_cell "$format" "$name" "$k" copy-docker-archive tar image copy "$src" "docker-archive:@DEST@"
  run_cell "$format" "$name" "$k" copy-oci-archive tar image copy "$src" "oci-archive:@DEST@"
  run_cell "$format" "$name" "$k" add-layer oci image add-layer "$src" "oci:@DEST@" --file "$TEST_TMP/host/added.txt:/added"
  run_cell "$format" "$name" "$k" config oci image config "$src" "oci:@DEST@" --env A=1
  run_cell "$format" "$name" "$k" remove-layer oci image remove-layer "$src" "oci:@DEST@"
  if [[ -n "$REG" ]]; then
    run_cell "$format" "$name" "$k" push "" image push "$src" "docker://$REG/hostile/$format-$name:1"
  fi
done <logs/fixtures.txt
log "$cells cells in $((SECONDS - start)) s, $failures failed"
((failures == 0)) || die "$failures cell(s) of the hostile-input matrix failed (see above)"
log "ok"
