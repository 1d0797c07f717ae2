// What the cache root ($XDG_CACHE_HOME/docker-envs, `build --cache-dir`) holds, and removing entries
// least recently used first (`docker-envs cache ls` / `cache prune`; docs/cache.md).
//
// Kinds of entries (paths relative to the root):
//   packages   pkgs/downloads/<file>          downloaded package files (verified)
//   extracted  pkgs/<name>-<sha256 prefix>/   extracted packages (conda::PackageCache)
//   wheels     pkgs/wheels/downloads/<file>, pkgs/wheels/<name>-<sha256 prefix>/
//                                             PyPI wheels, downloaded and extracted
//   layers     layers/blobs/sha256/<hex>      produced layer blobs (LayerCache; layers/keys/ point
//                                             at them and are dropped with them)
//   plans      layers/plans/<key>.plan        per-package install plans
//   images     layers/images/<key>.json       whole-image memos (the layers of a build's inputs;
//                                             dropped when a blob they name is gone)
//   repodata   repodata/channels/<h>.json     downloaded repodata (+ its .state.json)
//   solver     repodata/parsed/<h>.bin        parsed repodata for the solver
//   blobs      blobs/sha256/<hex>             registry blobs pulled or pushed
//   builds     builds/<key>.json              the last build of each environment (build_record.hpp)
// Last use comes from the use stamps the caches write (base/cache_use.hpp), or the entry's own
// mtime when that is newer (an entry just made).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::build {

enum class CacheKind {
  Packages, Extracted, Wheels, Layers, Plans, Images, Repodata, Solver, Blobs, Builds
};
inline constexpr CacheKind kCacheKinds[] = {
    CacheKind::Packages, CacheKind::Extracted, CacheKind::Wheels, CacheKind::Layers,
    CacheKind::Plans,    CacheKind::Images,    CacheKind::Repodata, CacheKind::Solver,
    CacheKind::Blobs,    CacheKind::Builds};
std::string_view cache_kind_name(CacheKind kind);

using CacheClock = std::chrono::system_clock;

struct CacheEntry {
  CacheKind kind = CacheKind::Packages;
  std::string name;  // relative to the root: "pkgs/numpy-1.26.4-...-0123456789abcdef"
  std::uint64_t bytes = 0;
  CacheClock::time_point last_use;
};

struct CacheInventory {
  std::filesystem::path root;
  std::vector<CacheEntry> entries;  // most recently used first
  std::uint64_t entry_bytes = 0;    // the entries' bytes
};

// Lists every entry under `root` (an absent root is an empty cache).
Result<CacheInventory> list_cache(const std::filesystem::path& root);

struct PruneOptions {
  std::optional<std::uint64_t> max_size;            // remove until the entries fit in this
  std::optional<std::chrono::seconds> older_than;   // remove entries unused for this long
  bool all = false;                                 // remove every entry
};

// Calls `remove` for the entries the options select, least recently used first: every entry with
// `all`, those unused since `now - older_than`, and then more while the entries that stay add up to
// more than max_size. `remove` returns false when it could not remove the entry (in use): it then
// still counts. Pure; `entries` in any order.
void select_for_prune(std::span<const CacheEntry> entries, const PruneOptions& options,
                      CacheClock::time_point now,
                      const std::function<bool(const CacheEntry&)>& remove);

struct PruneResult {
  std::vector<CacheEntry> removed;
  std::vector<CacheEntry> in_use;  // selected but kept: used by a running build
  std::uint64_t bytes_removed = 0;
  std::uint64_t bytes_left = 0;    // of the entries that stay
  int stale_leases = 0;            // leases of builds that died, removed
};

// Removes what select_for_prune selects, safely while builds use the same root: an entry whose
// stamp lock is held, or that was used since the oldest running build (or this prune) started, is
// kept and reported in `in_use`. A directory is renamed away before it is deleted, so a crash
// never leaves a half-deleted entry in place.
Result<PruneResult> prune_cache(const std::filesystem::path& root, const PruneOptions& options);

// "10G", "500MiB", "1.5GB", "0", "123" (bytes): K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024,
// KB/MB/GB/TB powers of 1000; B is optional; case-insensitive.
Result<std::uint64_t> parse_size(std::string_view text);
// "7d", "12h", "30m", "45s", "2w", or a sum such as "1d12h".
Result<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace de::build
