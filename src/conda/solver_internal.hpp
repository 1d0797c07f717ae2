// Pieces of the solver shared by its backend and its tests (private to the conda module).
#pragma once

#include <string_view>
#include <vector>

#include "docker_envs/conda/package_record.hpp"

namespace de::conda::detail {

// The package name of a match spec, cheaply, without a full parse: "numpy >=1" -> "numpy",
// "conda-forge::numpy[version='>=1']" -> "numpy", "python=3.11" -> "python". Empty for text
// without a name. A glob/regex name is returned as written.
std::string_view spec_package_name(std::string_view spec);

// Orders records so that each comes after the records it depends on (by name), level by level,
// each level sorted by name (conda's toposort); a dependency cycle is broken at the
// alphabetically first remaining record.
std::vector<PackageRecord> topological_order(std::vector<PackageRecord> records);

}  // namespace de::conda::detail
