// What the wheel extractor (wheel_archive.cpp) and the installer (wheel_install.cpp) both read in
// a wheel: its file name, its RFC 822 style metadata files (WHEEL, METADATA) and its one
// .dist-info directory.
//
// The file name parser here is deliberately minimal (distribution and version, for checking the
// .dist-info directory's name): tags are the resolver's business.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::pypi::detail {

struct WheelFileName {
  std::string distribution;  // as written ("typing_extensions")
  std::string version;
};

// "{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl" -> distribution, version.
// InvalidArgument for any other name.
Result<WheelFileName> parse_wheel_file_name(std::string_view file_name);

// PEP 503 normalisation: lower case, runs of '-', '_' and '.' become one '-'.
std::string canonical_name(std::string_view name);

// `Key: value` lines up to the first empty line (continuation lines, which start with a space or a
// tab, are appended to the previous value with a '\n').
using Headers = std::vector<std::pair<std::string, std::string>>;
Headers parse_headers(std::string_view text);
// The first value of `key` (compared without case), trimmed.
std::optional<std::string> header(const Headers& headers, std::string_view key);

struct WheelInfo {
  int major = 1, minor = 0;     // Wheel-Version
  bool root_is_purelib = true;  // Root-Is-Purelib
};
// The WHEEL file: Corruption without a Wheel-Version "X.Y", or without a Root-Is-Purelib of
// true/false; Unsupported for a major version other than 1.
Result<WheelInfo> parse_wheel_info(std::string_view text, std::string_view what);

// The one top-level `<name>-<version>.dist-info` directory among `top_level` (the wheel's
// top-level directory names), whose name must be the wheel's distribution name (PEP 503
// normalised). Corruption naming `what` when there is none, more than one, or another name.
Result<std::string> find_dist_info(const std::vector<std::string>& top_level,
                                   std::string_view distribution, std::string_view what);

// The top-level directory names of an extracted wheel, sorted.
Result<std::vector<std::string>> top_level_directories(const std::filesystem::path& dir);

}  // namespace de::pypi::detail
