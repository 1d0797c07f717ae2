// Core metadata (the METADATA file of a wheel, and the PEP 658 `.metadata` file an index serves
// beside it): the fields resolution needs.
//
// The format is RFC 822 style: `Field: value` lines, a line starting with whitespace continues
// the previous value, an empty line ends the headers (the rest is the description). Field names
// are case-insensitive. Name and Version are required; Requires-Dist entries are PEP 508
// requirements and Requires-Python a PEP 440 specifier set (an error names the line). Bounded:
// documents over 16 MiB are refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/requirement.hpp"
#include "docker_envs/pypi/specifier.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::pypi {

struct CoreMetadata {
  std::string metadata_version;  // "2.1"; "" when absent
  std::string name;              // as written
  Version version;
  std::vector<Requirement> requires_dist;
  std::optional<SpecifierSet> requires_python;
  std::vector<std::string> provides_extra;  // normalised

  // `source` names the document in errors ("numpy-1.26.4.dist-info/METADATA").
  static Result<CoreMetadata> parse(std::string_view text, std::string_view source = "METADATA");
};

}  // namespace de::pypi
