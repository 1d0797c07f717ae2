// The target a PyPI resolution is for: the image's Python and platform, never the host's.
//
// Built from facts the conda side knows (the solved `python` record's version and build string,
// the conda platform, the `__glibc` virtual package) and handed over as plain values, so this
// module does not depend on conda:
//   platform  linux-64 -> sys_platform "linux", platform_system "Linux", os_name "posix",
//             platform_machine "x86_64" (linux-aarch64 -> aarch64, linux-ppc64le -> ppc64le,
//             linux-s390x -> s390x, linux-armv7l -> armv7l, linux-32 -> i686);
//   python    version "3.11.4" -> python_version "3.11", python_full_version "3.11.4";
//             a build string naming PyPy ("..._73_pypy") -> implementation pypy, PyPy 7.3 tags;
//             anything else CPython;
//   glibc     the manylinux ceiling (kDefaultGlibc when the target states none).
// Other platforms (osx-*, win-*) are Unsupported: images are Linux.
#pragma once

#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/marker.hpp"
#include "docker_envs/pypi/tags.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::pypi {

// The glibc assumed when the target names none: conda's default `__glibc` for linux targets.
inline constexpr std::string_view kDefaultGlibc = "2.28";

struct TargetSpec {
  std::string platform;        // conda subdir: "linux-64"
  std::string python_version;  // the conda `python` record's version: "3.11.4"
  std::string python_build;    // its build string: "hab00c5b_0_cpython", "2_73_pypy"
  std::string glibc;           // the `__glibc` version ("2.17"); "" for kDefaultGlibc
};

struct Target {
  MarkerEnvironment markers;
  TagSet tags;
  Version python;  // python_full_version, what Requires-Python is checked against

  // InvalidArgument for a malformed Python or glibc version, Unsupported for a non-Linux
  // platform or an unknown architecture.
  static Result<Target> for_image(const TargetSpec& spec);
};

}  // namespace de::pypi
