#!/usr/bin/env bash
# Enforces the module dependency direction of docs/architecture.md by scanning #include lines:
#
#   base <- ffi <- {oci, conda};  conda <- pypi;  oci <- registry;  {oci, registry, pypi} <- build <- cli
#
# keeps the public headers (include/docker_envs/) free of C library headers and of the private
# ffi/ wrappers, so that the API never exposes a C type, and lets a module use another one only
# through its public headers: "oci/x.hpp" (a private header in src/oci/, reachable because every
# module has src/ on its include path) may be included from src/oci/ alone. ffi is the exception:
# its headers are all private, and the modules the direction allows include them.
#
# Usage: check_includes.sh [PROJECT_ROOT]   (default: the project this script lives in)
# Prints one line per violation as FILE:LINE: message; exits 1 when there is any.
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"

# What each module may include (itself included). A module not listed here is not checked, so a
# new module must be added here (and to docs/architecture.md) to get its direction enforced.
declare -A allowed=(
  [base]="base"
  [ffi]="base ffi"
  [oci]="base ffi oci"
  [conda]="base ffi conda"
  [pypi]="base ffi conda pypi"
  [registry]="base ffi oci registry"
  [build]="base ffi oci registry conda pypi build"
  [cli]="base ffi oci registry conda pypi build cli"
)
modules=" ${!allowed[*]} "

# C headers whose types must not leak through the public API.
c_header_re='^(archive\.h|archive_entry\.h|curl/|openssl/|isa-l|isa-l\.h|igzip_lib\.h|zstd\.h|zstd_errors\.h|zlib\.h|bzlib\.h|lzma\.h|solv/|yaml\.h)'

violations=0
report() {
  echo "$1: $2"
  violations=$((violations + 1))
}

# module_of_include PATH -> the module an include path refers to, or nothing (std/third-party).
module_of_include() {
  local inc=$1 first
  inc=${inc#docker_envs/}
  [[ "$inc" == */* ]] || return 0
  first=${inc%%/*}
  [[ "$modules" == *" $first "* ]] && echo "$first"
  return 0
}

check_file() {
  local file=$1 module=$2 public=$3
  local lineno=0 line inc target
  while IFS= read -r line || [[ -n "$line" ]]; do
    lineno=$((lineno + 1))
    [[ "$line" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*[\<\"]([^\>\"]+)[\>\"] ]] || continue
    inc=${BASH_REMATCH[1]}
    if [[ "$public" == 1 ]]; then
      if [[ "$inc" =~ $c_header_re ]]; then
        report "$file:$lineno" "public header includes C library header <$inc> (wrap it in src/ffi/)"
        continue
      fi
      if [[ "$inc" != docker_envs/* && "$inc" == */* && -n "$(module_of_include "$inc")" ]]; then
        report "$file:$lineno" "public header includes private header \"$inc\""
        continue
      fi
    fi
    target=$(module_of_include "$inc")
    [[ -n "$target" ]] || continue
    if [[ "$public" == 1 && "$target" == ffi ]]; then
      report "$file:$lineno" "public header includes ffi header \"$inc\""
      continue
    fi
    if [[ " ${allowed[$module]} " != *" $target "* ]]; then
      report "$file:$lineno" "module '$module' must not include '$target' (\"$inc\"); allowed: ${allowed[$module]}"
      continue
    fi
    if [[ "$inc" != docker_envs/* && "$target" != "$module" && "$target" != ffi ]]; then
      report "$file:$lineno" "module '$module' includes a private header of '$target' (\"$inc\"); use its public headers (docker_envs/$target/...)"
    fi
  done <"$file"
}

checked=0
while IFS= read -r -d '' file; do
  rel=${file#./}
  case "$rel" in
    include/docker_envs/*/*) module=${rel#include/docker_envs/}; public=1 ;;
    src/*/*) module=${rel#src/}; public=0 ;;
    *) continue ;;
  esac
  module=${module%%/*}
  [[ -n "${allowed[$module]+x}" ]] || continue
  check_file "$rel" "$module" "$public"
  checked=$((checked + 1))
done < <(find ./include ./src -type f \( -name '*.hpp' -o -name '*.h' -o -name '*.cpp' -o -name '*.cc' \) -print0 2>/dev/null | sort -z)

if ((violations)); then
  echo "check_includes: $violations violation(s) in $checked files (see docs/architecture.md)"
  exit 1
fi
echo "check_includes: $checked files follow the dependency direction"
