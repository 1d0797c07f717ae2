#include "docker_envs/build/layer_plan.hpp"

#include <algorithm>
#include <map>
#include <numeric>

#include "docker_envs/base/digest.hpp"

namespace de::build {

Result<LayerStrategy> parse_layer_strategy(std::string_view text) {
  if (text == "auto") return LayerStrategy::Auto;
  if (text == "per-package") return LayerStrategy::PerPackage;
  if (text == "single") return LayerStrategy::Single;
  return fail(Code::InvalidArgument,
              "unknown layering strategy '{}' (expected auto, per-package or single)", text);
}

std::string_view to_string(LayerStrategy strategy) {
  switch (strategy) {
    case LayerStrategy::Auto:
      return "auto";
    case LayerStrategy::PerPackage:
      return "per-package";
    case LayerStrategy::Single:
      return "single";
  }
  return "auto";
}

namespace {

// A bucket from the name alone (SHA-256, so the rule is the same on every machine and build).
std::size_t bucket_of(std::string_view name, std::size_t buckets) {
  Digest d = Digest::of(name);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(d.bytes()[i]);
  return static_cast<std::size_t>(v % buckets);
}

}  // namespace

Result<std::vector<LayerGroup>> plan_layers(std::span<const PlannedPackage> packages,
                                            const LayerPlanOptions& options) {
  std::vector<LayerGroup> groups;
  const std::size_t n = packages.size();
  if (n == 0) return groups;
  if (options.strategy == LayerStrategy::Single) {
    LayerGroup all;
    all.packages.resize(n);
    std::iota(all.packages.begin(), all.packages.end(), std::size_t{0});
    groups.push_back(std::move(all));
    return groups;
  }
  if (options.strategy == LayerStrategy::PerPackage) {
    for (std::size_t i = 0; i < n; ++i) groups.push_back({{i}, false});
    return groups;
  }

  // Room for package layers: the base image's layers and the final layer come first.
  if (options.max_layers < options.base_layers + 2)
    return fail(Code::InvalidArgument,
                "max_layers {} leaves no room for the environment: the base image has {} "
                "layer(s), and the environment needs at least 2 (packages and final layer)",
                options.max_layers, options.base_layers);
  const std::size_t budget = options.max_layers - options.base_layers - 1;
  if (n <= budget) {
    for (std::size_t i = 0; i < n; ++i) groups.push_back({{i}, false});
    return groups;
  }

  // Half the budget (rounded up) is hash buckets, the rest single big packages. Both numbers
  // depend on the budget only.
  const std::size_t buckets = (budget + 1) / 2;
  const std::size_t big_slots = budget - buckets;
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < n; ++i)
    if (packages[i].size >= options.big_package_bytes) candidates.push_back(i);
  std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
    if (packages[a].size != packages[b].size) return packages[a].size > packages[b].size;
    return packages[a].name < packages[b].name;
  });
  if (candidates.size() > big_slots) candidates.resize(big_slots);
  std::vector<bool> alone(n, false);
  for (std::size_t i : candidates) alone[i] = true;

  // Keyed by the first package's install position, which orders the layers.
  std::map<std::size_t, LayerGroup> ordered;
  std::map<std::size_t, std::size_t> bucket_first;  // bucket -> first package index
  std::vector<std::vector<std::size_t>> members(buckets);
  for (std::size_t i = 0; i < n; ++i) {
    if (alone[i]) {
      ordered[i] = {{i}, false};
      continue;
    }
    std::size_t b = bucket_of(packages[i].name, buckets);
    if (members[b].empty()) bucket_first[b] = i;
    members[b].push_back(i);
  }
  for (const auto& [b, first] : bucket_first) ordered[first] = {std::move(members[b]), true};
  for (auto& [first, group] : ordered) groups.push_back(std::move(group));
  return groups;
}

}  // namespace de::build
