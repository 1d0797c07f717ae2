#include "docker_envs/conda/install_order.hpp"

#include "conda/solver_internal.hpp"

namespace de::conda {

std::vector<PackageRecord> install_order(std::vector<PackageRecord> records) {
  return detail::topological_order(std::move(records));
}

}  // namespace de::conda
