// Distribution file names: wheels (PEP 427 / the binary distribution format) and source
// distributions (`{name}-{version}.tar.gz`, `.zip`, and the legacy archive suffixes).
//
//   {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl
//
// where each tag may be a compressed set joined by `.` (`py2.py3-none-any`). The build tag
// starts with a digit and breaks ties between otherwise equal wheels (its leading number, then
// the rest as a string; a wheel without one sorts first).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/tags.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::pypi {

struct BuildTag {
  std::uint64_t number = 0;
  std::string rest;
  friend auto operator<=>(const BuildTag&, const BuildTag&) = default;
};

struct WheelFilename {
  std::string name;  // as in the file name (`_` for runs of `-_.`)
  Version version;
  std::optional<BuildTag> build;
  std::vector<std::string> python_tags;
  std::vector<std::string> abi_tags;
  std::vector<std::string> platform_tags;

  // InvalidArgument naming the file: not `.whl`, wrong number of parts, bad version or build tag.
  static Result<WheelFilename> parse(std::string_view filename);

  // The expanded tag set (every combination of the compressed parts).
  std::vector<Tag> tags() const;
  // The best priority among the wheel's tags in `supported`; nullopt when none fits.
  std::optional<std::size_t> priority(const TagSet& supported) const;
};

struct SdistFilename {
  std::string name;
  Version version;
  // `project` (any spelling) is the index's project name, which tells where the name ends when
  // it holds `-` itself; "" splits at the last `-`. InvalidArgument when no archive suffix
  // (.tar.gz, .zip, .tar.bz2, .tar.xz, .tgz, .tar) or no version.
  static Result<SdistFilename> parse(std::string_view filename, std::string_view project = "");
};

// Whether a file name looks like a source distribution (one of the suffixes above).
bool is_sdist_filename(std::string_view filename);

// An installed distribution's metadata directory, `<name>-<version>.dist-info` (as conda packages
// of Python libraries ship them in site-packages): the normalised name and the version. nullopt
// for any other name (an unparseable version included).
struct InstalledDistribution {
  std::string name;  // normalised
  Version version;
};
std::optional<InstalledDistribution> parse_dist_info_dirname(std::string_view dirname);

}  // namespace de::pypi
