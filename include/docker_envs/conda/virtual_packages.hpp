// Virtual packages (`__glibc`, `__linux`, `__unix`, `__archspec`, `__cuda`, `__osx`, `__win`)
// describe the *target image*, never the machine docker-envs runs on: each platform has defaults,
// and VirtualPackageOverrides (filled by the CLI from CONDA_OVERRIDE_* variables or by a spec
// file) replace them.
//
// Defaults (see docs/solver.md for why):
//   linux-*  __linux 0, __unix 0, __glibc 2.28, __archspec 1 <arch>
//   osx-64   __osx 10.15, __unix 0, __archspec 1 x86_64;  osx-arm64 __osx 11.0, __archspec 1 arm64
//   win-*    __win 0, __archspec 1 x86_64
//   __cuda   absent unless overridden with a version
// Every virtual package has build number 0, subdir the platform, and an empty url.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

// Each field: unset = platform default; a version = that version; "" = remove the package
// (as CONDA_OVERRIDE_CUDA="" does).
struct VirtualPackageOverrides {
  std::optional<std::string> glibc;     // CONDA_OVERRIDE_GLIBC
  std::optional<std::string> cuda;      // CONDA_OVERRIDE_CUDA
  std::optional<std::string> osx;       // CONDA_OVERRIDE_OSX
  std::optional<std::string> linux;     // CONDA_OVERRIDE_LINUX
  std::optional<std::string> win;       // CONDA_OVERRIDE_WIN
  std::optional<std::string> archspec;  // CONDA_OVERRIDE_ARCHSPEC: the microarchitecture (build)
};

// The virtual packages of `platform` ("linux-64", "osx-arm64", ...). InvalidArgument for an
// unknown platform or an override that is not a valid version.
Result<std::vector<PackageRecord>> virtual_packages(std::string_view platform,
                                                    const VirtualPackageOverrides& overrides = {});

// True for names starting with "__".
inline bool is_virtual_package(std::string_view name) { return name.starts_with("__"); }

}  // namespace de::conda
