#include "build/group_memos.hpp"

#include "docker_envs/base/parallel.hpp"
#include "docker_envs/build/shared_cache.hpp"

namespace de::build::detail {

std::vector<std::optional<Digest>> group_memo_keys(
    const conda::EnvironmentSummary& summary, std::span<const LayerGroup> groups,
    const std::function<std::string(std::size_t)>& content, const LayerKeyOptions& options) {
  const std::size_t n = summary.records.size();
  std::vector<std::string> dist(n), ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    dist[i] = summary.records[i].dist_name();
    ids[i] = content(i);
  }
  std::vector<std::optional<Digest>> memos;
  for (const auto& g : groups) {
    std::vector<LayerGroupMember> members;
    bool entangled = false;
    for (std::size_t i : g.packages) {
      members.push_back({dist[i], ids[i], summary.packages[i].plan});
      entangled |= summary.packages[i].entangled;
    }
    // Its entries are what the merge makes of them, not what the plans name: no memo.
    memos.push_back(entangled ? std::nullopt
                              : std::optional<Digest>(layer_group_key(members, options)));
  }
  return memos;
}

Result<std::vector<std::optional<FoundGroup>>> find_groups(
    std::span<const std::optional<Digest>> memos, const LayerCache& cache,
    const SharedCache* shared, unsigned parallelism) {
  std::vector<std::optional<FoundGroup>> found(memos.size());
  Status looked_up = parallel_for(memos.size(), parallelism, [&](std::size_t g) -> Status {
    if (!memos[g]) return {};
    if (auto local = DE_TRY(cache.find_alias(*memos[g]))) {
      found[g] = FoundGroup{local->key, std::move(local->layer), true, false};
      return {};
    }
    if (!shared) return {};
    auto key = shared->group_layer(*memos[g]);
    if (!key) return {};
    if (auto here = DE_TRY(cache.find(*key))) {
      found[g] = FoundGroup{*key, std::move(*here), false, false};
    } else if (auto there = shared->layer(*key)) {
      found[g] = FoundGroup{*key, std::move(*there), false, true};
    }
    return {};
  });
  DE_TRY(looked_up);
  return found;
}

}  // namespace de::build::detail
