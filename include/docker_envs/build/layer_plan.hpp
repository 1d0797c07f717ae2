// Which packages go into which layer.
//
//  * per-package: one layer per package, in install order.
//  * single: every package in one layer.
//  * auto (default): per-package while the whole image fits the budget; otherwise big packages
//    get a layer each and the others share a fixed number of buckets chosen by a hash of the
//    package *name*. The number of buckets depends only on the budget, so bumping a package's
//    version (or size, below the big threshold) moves it nowhere and moves no other package:
//    only its own group's layer changes.
//
// The budget counts every layer of the image: the base image's, the package layers and the final
// environment-wide layer (conda-meta/history, added files), which the plan reserves but does not
// list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::build {

enum class LayerStrategy { Auto, PerPackage, Single };
Result<LayerStrategy> parse_layer_strategy(std::string_view text);  // auto | per-package | single
std::string_view to_string(LayerStrategy strategy);

struct PlannedPackage {
  std::string name;        // package name (the bucket is chosen from it)
  std::uint64_t size = 0;  // bytes it adds to the image (installed size, or archive size)
};

struct LayerPlanOptions {
  LayerStrategy strategy = LayerStrategy::Auto;
  std::size_t max_layers = 64;  // the whole image's budget, base and final layer included
  std::size_t base_layers = 0;  // layers of the base image
  // auto: packages at least this big may get a layer of their own.
  std::uint64_t big_package_bytes = std::uint64_t{4} << 20;
};

struct LayerGroup {
  std::vector<std::size_t> packages;  // indices into the input, in install order
  bool bucket = false;                // a hash bucket of small packages (auto)
};

// The package layers, ordered by their first package's install position. Empty input gives no
// groups. Fails (InvalidArgument) when the base image and the final layer leave no room for a
// package layer under max_layers.
Result<std::vector<LayerGroup>> plan_layers(std::span<const PlannedPackage> packages,
                                            const LayerPlanOptions& options);

}  // namespace de::build
