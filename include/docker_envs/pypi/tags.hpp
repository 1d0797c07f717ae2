// Compatibility tags (PEP 425) and the platform tags of Linux wheels (PEP 600 `manylinux_2_N`,
// the legacy `manylinux1` / `manylinux2010` / `manylinux2014` aliases, `linux_<arch>`).
//
// A TagSet is the ordered list of tags an interpreter accepts, most preferred first; a wheel's
// priority is the best position any of its tags reaches. For CPython 3.Y on Linux the order is
// the one pip uses (packaging's `sys_tags`):
//   cp3Y-cp3Y-P for every platform P, then cp3Y-abi3-P, cp3Y-none-P, cp3X-abi3-P for X < Y (down
//   to cp32), then py3Y-none-P, py3-none-P, py3X-none-P (X < Y), then cp3Y-none-any, py3Y-none-any,
//   py3-none-any, py3X-none-any.
// Platforms P, most specific first: manylinux_2_G_<arch> down to the oldest manylinux of the
// architecture (2_5 for x86_64/i686, 2_17 for the others), each legacy alias right after the
// glibc it stands for (2_17: manylinux2014, 2_12: manylinux2010, 2_5: manylinux1), and
// linux_<arch> last. Never musllinux (the conda targets use glibc) and never another OS.
// PyPy (pp3Y with ABI pypy3Y_ppNN) has no abi3 tags.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::pypi {

struct Tag {
  std::string interpreter;  // "cp311", "py3"
  std::string abi;          // "cp311", "abi3", "none"
  std::string platform;     // "manylinux_2_17_x86_64", "any"

  std::string to_string() const { return interpreter + "-" + abi + "-" + platform; }
  friend bool operator==(const Tag&, const Tag&) = default;
};

class TagSet {
 public:
  TagSet() = default;
  explicit TagSet(std::vector<Tag> ordered);

  const std::vector<Tag>& tags() const { return tags_; }
  // The position of `tag` (0 is the most preferred), or nullopt when the target cannot use it.
  std::optional<std::size_t> priority(const Tag& tag) const;

 private:
  std::vector<Tag> tags_;
  std::unordered_map<std::string, std::size_t> index_;
};

struct InterpreterTagOptions {
  bool pypy = false;
  unsigned python_major = 3;
  unsigned python_minor = 11;
  std::string pypy_abi_version;  // "73" for PyPy 7.3 (PyPy only)
  std::string arch;              // "x86_64", "aarch64", "ppc64le", "s390x", "armv7l", "i686"
  unsigned glibc_major = 2;
  unsigned glibc_minor = 17;
};

// The Linux platform tags for an architecture and glibc, most specific first (see above).
std::vector<std::string> linux_platform_tags(std::string_view arch, unsigned glibc_major,
                                             unsigned glibc_minor);

// The full ordered tag list for an interpreter on Linux.
TagSet interpreter_tags(const InterpreterTagOptions& options);

}  // namespace de::pypi
