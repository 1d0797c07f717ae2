// Wheel files (the binary distribution format, PEP 427 and its PyPA specification): safe
// extraction with every member verified against the wheel's RECORD.
//
// A wheel is a zip read through its central directory (where member modes live, as Python's
// zipfile sees them). Extraction refuses, naming the wheel and the member, anything that could
// write outside the destination or that the spec does not allow:
//   * absolute paths, `..` components, NUL bytes; a member listed twice;
//   * symlinks, hardlinks, devices, FIFOs (a wheel holds only files and directories);
//   * a file not listed in RECORD with a sha256 (RECORD itself and its signatures excepted), a
//     hash or size that does not match, a RECORD path outside the wheel, another hash algorithm;
//   * no single `<name>-<version>.dist-info` directory named after the wheel's distribution, no
//     WHEEL, METADATA or RECORD in it, a Wheel-Version whose major version is not 1;
//   * more bytes than conda::ExtractLimits allow (zip bombs).
// Files keep one mode: 0755 when the zip gives the member an executable bit, else 0644.
#pragma once

#include <filesystem>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package.hpp"
#include "docker_envs/conda/package_cache.hpp"

namespace de::pypi {

// Extracts the wheel file `wheel` (its name must be a wheel file name) into `dest`: a directory the
// call creates, or an empty one that exists (as extract_package()). Errors carry "wheel <file
// name>" context. On failure `dest` may hold a partial tree: extract into a temporary directory (as
// conda::PackageCache does).
Status extract_wheel(const std::filesystem::path& wheel, const std::filesystem::path& dest,
                     const conda::ExtractLimits& limits = {});

// The package cache's format for wheels: conda::PackageCache(root, wheel_cache_format()) fetches,
// verifies and extracts wheels with the same policy as conda packages.
conda::CacheFormat wheel_cache_format();

}  // namespace de::pypi
