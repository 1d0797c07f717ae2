// Group memos for build_image (docs/cache.md#group-memos-a-changed-package-costs-its-own-files-
// not-the-environments): each layer of packages named by their plans' summaries, and the layers
// found under those names, in the local layer cache or a --cache-from cache.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/build/layer_cache.hpp"
#include "docker_envs/build/layer_plan.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::build {
class SharedCache;
}

namespace de::build::detail {

// The group memo of each group (layer_group_key), from the environment's summary; `content(i)`
// is package i's identity in layer keys. None for a group with an entangled package.
std::vector<std::optional<Digest>> group_memo_keys(
    const conda::EnvironmentSummary& summary, std::span<const LayerGroup> groups,
    const std::function<std::string(std::size_t)>& content, const LayerKeyOptions& options);

struct FoundGroup {
  Digest key;  // the layer's own key
  CachedLayer layer;
  bool local_memo = false;  // found under the local cache's memo (nothing to record again)
  bool shared = false;      // its blob is in the shared cache only
};
// Each memo's layer: the local cache's memo first; else a shared cache's memo, with the layer
// from the local cache when it has the blob, else from the shared cache. nullopt where none.
Result<std::vector<std::optional<FoundGroup>>> find_groups(
    std::span<const std::optional<Digest>> memos, const LayerCache& cache,
    const SharedCache* shared, unsigned parallelism);

}  // namespace de::build::detail
