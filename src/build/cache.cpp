// `docker-envs cache ls/prune`: the entries of every cache under one root, and their removal, least
// recently used first, safely beside running builds (the protocol is in base/cache_use.hpp).
#include "docker_envs/build/cache.hpp"

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"

namespace de::build {
namespace fs = std::filesystem;

namespace {

// Where one kind of entry lives: the directory listed, the directory of its cache (whose .used/
// holds the stamps) and what the stamp is named relative to it.
struct KindLayout {
  CacheKind kind;
  std::string_view dir;        // listed, relative to the root
  std::string_view cache_dir;  // relative to the root
  std::string_view stamp_prefix;
  bool directories;  // entries are directories (else regular files)
};

constexpr KindLayout kLayouts[] = {
    {CacheKind::Packages, "pkgs/downloads", "pkgs", "downloads/", false},
    {CacheKind::Extracted, "pkgs", "pkgs", "", true},
    {CacheKind::Wheels, "pkgs/wheels/downloads", "pkgs/wheels", "downloads/", false},
    {CacheKind::Wheels, "pkgs/wheels", "pkgs/wheels", "", true},
    {CacheKind::Layers, "layers/blobs/sha256", "layers", "", false},
    {CacheKind::Plans, "layers/plans", "layers/plans", "", false},
    {CacheKind::Images, "layers/images", "layers/images", "", false},
    {CacheKind::Repodata, "repodata/channels", "repodata", "channels/", false},
    {CacheKind::Solver, "repodata/parsed", "repodata", "parsed/", false},
    {CacheKind::Blobs, "blobs/sha256", ".", "blobs/", false},
    {CacheKind::Builds, "builds", "builds", "", false},
};

bool is_hex_digest(std::string_view name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Whether a name in a kind's directory is an entry (not a lock, temp file, state file or stamp).
bool is_entry(CacheKind kind, std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  switch (kind) {
    case CacheKind::Packages:
      return !name.ends_with(".lock");
    case CacheKind::Extracted:  // pkgs/wheels/ is the wheels' own package cache
    case CacheKind::Wheels:
      return name != "downloads" && name != "wheels" && !name.ends_with(".lock");
    case CacheKind::Layers:
    case CacheKind::Blobs:
      return is_hex_digest(name);
    case CacheKind::Plans:
      return name.ends_with(".plan");
    case CacheKind::Images:
      return name.size() == 64 + 5 && name.ends_with(".json") && is_hex_digest(name.substr(0, 64));
    case CacheKind::Repodata:
      return name.ends_with(".json") && !name.ends_with(".state.json");
    case CacheKind::Solver:
      return name.ends_with(".bin");
    case CacheKind::Builds:
      return name.ends_with(".json");
  }
  return false;
}

// Files that belong to an entry besides its own path (a repodata document's validators).
std::vector<fs::path> companions(CacheKind kind, const fs::path& path) {
  if (kind != CacheKind::Repodata) return {};
  fs::path state = path;
  state.replace_extension(".state.json");
  return {state};
}

std::uint64_t bytes_of(const fs::path& path, bool directory) {
  std::error_code ec;
  if (!directory) {
    auto n = fs::file_size(path, ec);
    return ec ? 0 : n;
  }
  std::uint64_t total = 0;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e;
    if (it->is_regular_file(e) && !it->is_symlink(e)) total += it->file_size(e);
  }
  return total;
}

fs::path stamp_dir(const fs::path& root, const KindLayout& l) {
  return l.cache_dir == "." ? root : root / l.cache_dir;
}

std::string stamp_name(const KindLayout& l, std::string_view file) {
  return std::string(l.stamp_prefix) + std::string(file);
}

struct Found {
  CacheEntry entry;
  fs::path path;
  const KindLayout* layout;
};

std::vector<Found> scan(const fs::path& root) {
  std::vector<Found> out;
  for (const auto& l : kLayouts) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root / l.dir, ec)) {
      std::string file = e.path().filename().string();
      std::error_code te;
      bool dir = e.is_directory(te) && !e.is_symlink(te);
      if (!is_entry(l.kind, file) || dir != l.directories) continue;
      Found f{.entry = {.kind = l.kind, .name = (fs::path(l.dir) / file).string()}, .path = e.path(), .layout = &l};
      f.entry.bytes = bytes_of(e.path(), dir);
      for (auto& c : companions(l.kind, e.path())) f.entry.bytes += bytes_of(c, false);
      auto made = modified_time(e.path());
      auto used = modified_time(use_stamp_path(stamp_dir(root, l), stamp_name(l, file)));
      f.entry.last_use = std::max(made.value_or(CacheClock::time_point()),
                                  used.value_or(CacheClock::time_point()));
      out.push_back(std::move(f));
    }
  }
  return out;
}

// Removes a file or directory: a directory is renamed away first, so that it vanishes at once.
Status remove_path(const fs::path& path, bool directory) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  if (!directory) {
    fs::remove(path, ec);
    if (ec) return fail(Code::Io, "removing {}: {}", path.string(), ec.message());
    return {};
  }
  fs::path away = path.parent_path() /
                  fmt::format(".prune-{}-{}", path.filename().string(), counter.fetch_add(1));
  fs::rename(path, away, ec);
  if (ec) return fail(Code::Io, "moving {} away: {}", path.string(), ec.message());
  fs::remove_all(away, ec);
  if (ec) return fail(Code::Io, "removing {}: {}", away.string(), ec.message());
  return {};
}

// Layer keys and image memos whose blob is gone are misses anyway: they go with their blob (a
// memo names several: it goes with the first of them).
void drop_dangling_layer_keys(const fs::path& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "layers" / "keys", ec)) {
    if (!e.path().string().ends_with(".json")) continue;
    auto text = read_file(e.path(), 1 << 20);
    if (!text) continue;
    // The blob is "digest" (the first digest written is "diff_id", the tar's).
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc.contains("digest") || !doc["digest"].is_string()) continue;
    std::string digest = doc["digest"].get<std::string>();
    if (!digest.starts_with("sha256:")) continue;
    std::string hex = digest.substr(7);
    std::error_code fe;
    if (is_hex_digest(hex) && !fs::exists(root / "layers/blobs/sha256" / hex, fe) && !fe)
      fs::remove(e.path(), fe);
  }
  for (const auto& e : fs::directory_iterator(root / "layers" / "images", ec)) {
    if (!is_entry(CacheKind::Images, e.path().filename().string())) continue;
    auto text = read_file(e.path(), 64 << 20);
    if (!text) continue;
    for (size_t pos = text->find("\"digest\": \"sha256:"); pos != std::string::npos;
         pos = text->find("\"digest\": \"sha256:", pos + 1)) {
      std::string hex = text->substr(pos + 18, 64);
      std::error_code fe;
      if (!is_hex_digest(hex) || fs::exists(root / "layers/blobs/sha256" / hex, fe) || fe) continue;
      // Under the stamp's lock, as any removal: a build reading the memo right now keeps it.
      fs::path stamps = root / "layers" / "images";
      auto removal = EntryRemoval::try_begin(stamps, e.path().filename().string());
      if (removal && *removal) {
        fs::remove(e.path(), fe);
        (*removal)->finish();
      }
      break;
    }
  }
}

}  // namespace

Result<CacheInventory> list_cache(const fs::path& root) {
  CacheInventory inventory{.root = root};
  for (auto& f : scan(root)) {
    inventory.entry_bytes += f.entry.bytes;
    inventory.entries.push_back(std::move(f.entry));
  }
  std::sort(inventory.entries.begin(), inventory.entries.end(),
            [](const CacheEntry& a, const CacheEntry& b) {
              if (a.last_use != b.last_use) return a.last_use > b.last_use;
              return a.name < b.name;
            });
  return inventory;
}

Result<PruneResult> prune_cache(const fs::path& root, const PruneOptions& options) {
  PruneResult result;
  std::error_code ec;
  if (!fs::exists(root, ec)) return result;
  // This prune's own lease dates its start; uses since then, or since the oldest running build
  // started, are never undone. A second of slack covers coarse file-system clocks.
  auto lease = DE_TRY_CTX(CacheLease::acquire(root), "pruning " + root.string());
  auto leases = scan_leases(root, lease.path());
  result.stale_leases = leases.stale;
  auto cutoff = std::min(lease.started(), leases.oldest_live.value_or(lease.started())) -
                std::chrono::seconds(1);
  auto found = scan(root);
  std::vector<CacheEntry> entries;
  for (auto& f : found) entries.push_back(f.entry);
  std::unordered_map<std::string, const Found*> by_name;
  for (auto& f : found) by_name.emplace(f.entry.name, &f);
  Status failed;
  select_for_prune(entries, options, CacheClock::now(), [&](const CacheEntry& e) {
    if (!failed) return false;
    const Found& f = *by_name.at(e.name);
    const KindLayout& l = *f.layout;
    const fs::path& path = f.path;
    std::string file = path.filename().string();
    auto removal = EntryRemoval::try_begin(stamp_dir(root, l), stamp_name(l, file));
    if (!removal) {
      failed = std::unexpected(std::move(removal).error());
      return false;
    }
    auto made = modified_time(path);
    if (!*removal || (*removal)->last_use() >= cutoff || (made && *made >= cutoff)) {
      result.in_use.push_back(e);
      return false;
    }
    if (!made) {  // gone meanwhile (another prune)
      (*removal)->finish();
      return true;
    }
    auto removed = remove_path(path, l.directories);
    if (!removed) {
      failed = std::move(removed);
      return false;
    }
    for (auto& c : companions(e.kind, path)) fs::remove(c, ec);
    (*removal)->finish();
    result.removed.push_back(e);
    result.bytes_removed += e.bytes;
    return true;
  });
  drop_dangling_layer_keys(root);
  DE_TRY_CTX(std::move(failed), "pruning " + root.string());
  std::uint64_t total = 0;
  for (auto& e : entries) total += e.bytes;
  result.bytes_left = total - result.bytes_removed;
  log::debug("pruned {}: {} entries removed, {} in use", root.string(), result.removed.size(),
             result.in_use.size());
  return result;
}

}  // namespace de::build
