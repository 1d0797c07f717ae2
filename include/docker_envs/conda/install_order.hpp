// The order conda installs records in, for records that come without one (an existing
// environment's conda-meta/*.json).
#pragma once

#include <vector>

#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

// Each record after the records it depends on (by name), level by level, each level sorted by
// name (conda's toposort); a dependency cycle is broken at the alphabetically first record. The
// order solve results and conda-lock files are installed in.
std::vector<PackageRecord> install_order(std::vector<PackageRecord> records);

}  // namespace de::conda
