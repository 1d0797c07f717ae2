#!/usr/bin/env bash
# Layering of `docker-envs build` from @EXPLICIT locks over a generated file:// channel:
# - bumping one package changes at most two layers (the one holding that package and the final
#   environment-wide layer); every other layer keeps its digest, so it is reused byte-identical;
# - a 300-package environment stays within the layer budget (64 by default), every package's files
#   are in the image, and bumping one of its packages still changes at most two layers.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DE_SOURCE_DIR/tests/integration/build_lib.sh"
need_build
export XDG_CACHE_HOME=$TEST_TMP/cache
base_args=(--base scratch)

# layer_of REF PATH: the index of the topmost layer that holds PATH.
layer_of() {
  local ref=$1 path=$2 n i found=""
  n=$(inspect "$ref" "len(j['layers'])")
  for ((i = 0; i < n; i++)); do
    "$DE_CLI" image ls --layer "$i" "$ref" | sed 's|^/||' | grep -qx "$path" && found=$i
  done
  [[ -n "$found" ]] || die "no layer of $ref holds $path"
  echo "$found"
}

# check_bump REF_A REF_B PATH: B differs from A only in the layer holding PATH and the last one.
check_bump() {
  local a=$1 b=$2 path=$3
  mapfile -t la < <(layer_digests "$a")
  mapfile -t lb < <(layer_digests "$b")
  assert_eq "${#la[@]}" "${#lb[@]}" "number of layers after the bump"
  local ia ib i changed=()
  ia=$(layer_of "$a" "$path")
  ib=$(layer_of "$b" "$path")
  assert_eq "$ia" "$ib" "layer index of the bumped package"
  for ((i = 0; i < ${#la[@]}; i++)); do
    [[ "${la[i]}" == "${lb[i]}" ]] && continue
    changed+=("$i")
    ((i == ia || i == ${#la[@]} - 1)) ||
      die "layer $i changed although it holds neither the bumped package (layer $ia) nor the final files"
  done
  ((${#changed[@]} >= 1 && ${#changed[@]} <= 2)) || die "${#changed[@]} layers changed: ${changed[*]}"
  [[ " ${changed[*]} " == *" $ia "* ]] || die "the bumped package's layer $ia did not change"
  log "bump changed layers ${changed[*]} of ${#la[@]}; the others are the same blobs"
}

log "six packages, one bumped"
ch=$TEST_TMP/six
pkgs=()
for i in 1 2 3 4 5 6; do
  PKG_BYTES=$((i * 300000)) make_pkg "$ch" noarch "p$i" 1.0
  pkgs+=("noarch/$CONDAPKG_LAST.conda")
done
PKG_BYTES=900000 make_pkg "$ch" noarch p3 1.1
bumped=("${pkgs[@]}")
bumped[2]=noarch/$CONDAPKG_LAST.conda
condapkg_index "$ch"
explicit_lock "$ch" "file://$ch" "${pkgs[@]}" >"$TEST_TMP/six-a.txt"
explicit_lock "$ch" "file://$ch" "${bumped[@]}" >"$TEST_TMP/six-b.txt"
run_cli build "$TEST_TMP/six-a.txt" "${base_args[@]}" -o "oci:$TEST_TMP/six-a:1"
run_cli build "$TEST_TMP/six-b.txt" "${base_args[@]}" -o "oci:$TEST_TMP/six-b:1"
check_bump "oci:$TEST_TMP/six-a:1" "oci:$TEST_TMP/six-b:1" opt/conda/share/p3/data.bin
assert_contains "$("$DE_CLI" image ls "oci:$TEST_TMP/six-b:1")" "opt/conda/conda-meta/p3-1.1-" "bumped record"

log "300 packages"
ch=$TEST_TMP/many
pkgs=()
for i in $(seq 1 300); do
  # A few big ones (a layer each under auto), the rest small.
  bytes=3000
  ((i % 60 == 0)) && bytes=5000000
  CONDAPKG_FORMATS=conda PKG_BYTES=$bytes make_pkg "$ch" noarch "pkg$i" 1.0
  pkgs+=("noarch/$CONDAPKG_LAST.conda")
done
CONDAPKG_FORMATS=conda PKG_BYTES=3000 make_pkg "$ch" noarch pkg150 1.1
bumped=("${pkgs[@]}")
bumped[149]=noarch/$CONDAPKG_LAST.conda
condapkg_index "$ch"
explicit_lock "$ch" "file://$ch" "${pkgs[@]}" >"$TEST_TMP/many-a.txt"
explicit_lock "$ch" "file://$ch" "${bumped[@]}" >"$TEST_TMP/many-b.txt"
run_cli build "$TEST_TMP/many-a.txt" "${base_args[@]}" -o "oci:$TEST_TMP/many-a:1"
n=$(inspect "oci:$TEST_TMP/many-a:1" "len(j['layers'])")
((n > 1 && n <= 64)) || die "300 packages gave $n layers (budget 64)"
listing=$("$DE_CLI" image ls "oci:$TEST_TMP/many-a:1" | sed 's|^/||')
assert_eq 300 "$(grep -c '^opt/conda/share/pkg[0-9]*/data.bin$' <<<"$listing")" "packages' files in the image"
assert_eq 300 "$(grep -c '^opt/conda/conda-meta/pkg[0-9]*-1.0-.*\.json$' <<<"$listing")" "conda-meta records"
run_cli build "$TEST_TMP/many-b.txt" "${base_args[@]}" -o "oci:$TEST_TMP/many-b:1"
check_bump "oci:$TEST_TMP/many-a:1" "oci:$TEST_TMP/many-b:1" opt/conda/share/pkg150/data.bin
log "300 packages in $n layers"
