#!/usr/bin/env bash
# Proves that Result is [[nodiscard]] through its type: code that drops the Result of a library
# call (write_image here, and a Status of the caller's own) does not compile under -Werror, while
# the same code using the result does. Without the attribute a failed write could be ignored
# silently.
#
# Usage: nodiscard_check.sh CXX PROJECT_ROOT [FLAG...]   (FLAGs: the C++23 option, default -std=c++23)
set -euo pipefail
cxx=$1
root=$2
shift 2
flags=("$@")
((${#flags[@]})) || flags=(-std=c++23)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

compile() { "$cxx" "${flags[@]}" -fsyntax-only -Werror -I"$root/include" "$1" 2>&1; }

cat >"$tmp/used.cpp" <<'SNIPPET'
#include "docker_envs/oci/image_ref.hpp"
de::Status own();
de::Status f(const de::oci::Image& image, const de::oci::ImageRef& ref) {
  auto written = de::oci::write_image(image, ref);
  if (!written) return std::unexpected(written.error());
  return own();
}
SNIPPET

cat >"$tmp/dropped_write.cpp" <<'SNIPPET'
#include "docker_envs/oci/image_ref.hpp"
void f(const de::oci::Image& image, const de::oci::ImageRef& ref) {
  de::oci::write_image(image, ref);
}
SNIPPET

cat >"$tmp/dropped_status.cpp" <<'SNIPPET'
#include "docker_envs/base/error.hpp"
de::Status own();
void f() { own(); }
SNIPPET

if ! out=$(compile "$tmp/used.cpp"); then
  echo "nodiscard_check: the control snippet does not compile:"
  echo "$out"
  exit 1
fi
echo "ok: a used Result compiles"
for name in dropped_write dropped_status; do
  if out=$(compile "$tmp/$name.cpp"); then
    echo "nodiscard_check: $name.cpp compiled, but it drops a Result"
    exit 1
  fi
  if ! grep -q "ignoring return.*nodiscard" <<<"$out"; then
    echo "nodiscard_check: $name.cpp failed for another reason than the dropped Result:"
    echo "$out"
    exit 1
  fi
  echo "ok: $name does not compile"
done
