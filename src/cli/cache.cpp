// `docker-envs cache ls [--json]` and `docker-envs cache prune [--max-size SIZE]
// [--older-than DURATION] [--all]`: what the cache root holds per kind and per entry with its last
// use, and removing entries least recently used first while builds may be running (docs/cache.md).
#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/build/cache.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {

void add_cache(CLI::App& parent, CommandTable& commands);

std::filesystem::path default_cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "docker-envs";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache/docker-envs";
  return std::filesystem::temp_directory_path() / "docker-envs";
}

namespace {
namespace fs = std::filesystem;

struct CacheFlags {
  std::string cache_dir;
  std::string max_size, older_than;
  bool all = false, json = false;
};

fs::path root_of(const CacheFlags& f) {
  return f.cache_dir.empty() ? default_cache_root() : fs::path(f.cache_dir);
}

std::string size_text(std::uint64_t n) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(n);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::int64_t unix_seconds(build::CacheClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

nlohmann::json entry_json(const build::CacheEntry& e) {
  return {{"kind", build::cache_kind_name(e.kind)},
          {"name", e.name},
          {"bytes", e.bytes},
          {"last_use", oci::rfc3339_from_epoch(unix_seconds(e.last_use))},
          {"last_use_unix", unix_seconds(e.last_use)}};
}

Status run_ls(const CacheFlags& f, const Globals&) {
  fs::path root = root_of(f);
  auto inventory = DE_TRY_CTX(build::list_cache(root), "listing the cache " + root.string());
  std::map<build::CacheKind, std::pair<std::size_t, std::uint64_t>> per_kind;
  for (auto kind : build::kCacheKinds) per_kind[kind] = {0, 0};
  for (const auto& e : inventory.entries) {
    ++per_kind[e.kind].first;
    per_kind[e.kind].second += e.bytes;
  }
  if (f.json) {
    nlohmann::json kinds = nlohmann::json::object();
    for (auto& [kind, counts] : per_kind)
      kinds[std::string(build::cache_kind_name(kind))] = {{"entries", counts.first},
                                                          {"bytes", counts.second}};
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : inventory.entries) entries.push_back(entry_json(e));
    nlohmann::json out = {{"root", root.string()},
                          {"bytes", inventory.entry_bytes},
                          {"kinds", std::move(kinds)},
                          {"entries", std::move(entries)}};
    fmt::print("{}\n", out.dump());
    return {};
  }
  fmt::print("cache {}: {} in {} entries\n", root.string(), size_text(inventory.entry_bytes),
             inventory.entries.size());
  for (auto& [kind, counts] : per_kind)
    fmt::print("  {:<10} {:>6} entries {:>12}\n", build::cache_kind_name(kind), counts.first,
               size_text(counts.second));
  if (!inventory.entries.empty()) fmt::print("\nlast use (UTC)        kind             size  name\n");
  for (const auto& e : inventory.entries)
    fmt::print("{}  {:<10} {:>10}  {}\n", oci::rfc3339_from_epoch(unix_seconds(e.last_use)),
               build::cache_kind_name(e.kind), size_text(e.bytes), e.name);
  return {};
}

Status run_prune(const CacheFlags& f, const Globals&) {
  build::PruneOptions options{.all = f.all};
  if (!f.max_size.empty())
    options.max_size = DE_TRY_CTX(build::parse_size(f.max_size), "--max-size");
  if (!f.older_than.empty())
    options.older_than = DE_TRY_CTX(build::parse_duration(f.older_than), "--older-than");
  if (!options.all && !options.max_size && !options.older_than)
    return fail(Code::InvalidArgument,
                "cache prune: say what to remove: --max-size SIZE (e.g. 10G), --older-than "
                "DURATION (e.g. 7d) or --all");
  fs::path root = root_of(f);
  auto result = DE_TRY(build::prune_cache(root, options));
  if (f.json) {
    nlohmann::json removed = nlohmann::json::array(), in_use = nlohmann::json::array();
    for (const auto& e : result.removed) removed.push_back(entry_json(e));
    for (const auto& e : result.in_use) in_use.push_back(entry_json(e));
    fmt::print("{}\n", nlohmann::json{{"root", root.string()},
                                      {"removed", std::move(removed)},
                                      {"in_use", std::move(in_use)},
                                      {"bytes_removed", result.bytes_removed},
                                      {"bytes_left", result.bytes_left},
                                      {"stale_leases", result.stale_leases}}
                           .dump());
    return {};
  }
  log::info("removed {} entries ({}) from {}; {} left{}", result.removed.size(),
            size_text(result.bytes_removed), root.string(), size_text(result.bytes_left),
            result.in_use.empty()
                ? std::string()
                : fmt::format("; {} entries in use by running builds were kept",
                              result.in_use.size()));
  return {};
}

// A CLI11 check that runs `parse` on the value, so that a bad SIZE or DURATION is a usage error.
template <class Parse>
CLI::Validator parsed_by(Parse parse, std::string what) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto parsed = parse(value);
        return parsed ? std::string() : parsed.error().message();
      },
      std::move(what));
}

}  // namespace

void add_cache(CLI::App& parent, CommandTable& commands) {
  auto* cache = parent.add_subcommand("cache", "List and prune the local caches (packages, "
                                               "layers, plans, image memos, repodata, registry blobs)");
  cache->require_subcommand(1);
  cache->fallthrough();

  auto ls = std::make_shared<CacheFlags>();
  auto* ls_cmd = cache->add_subcommand(
      "ls", "Sizes per kind and every entry with its last use, most recent first");
  ls_cmd->add_option("--cache-dir", ls->cache_dir,
                     "Cache root (default $XDG_CACHE_HOME/docker-envs or ~/.cache/docker-envs)");
  ls_cmd->add_flag("--json", ls->json, "Print JSON on stdout");
  on_run(ls_cmd, commands, ls, run_ls);

  auto prune = std::make_shared<CacheFlags>();
  auto* prune_cmd = cache->add_subcommand(
      "prune",
      "Remove entries, least recently used first; entries used by running builds are kept");
  prune_cmd->add_option("--cache-dir", prune->cache_dir,
                        "Cache root (default $XDG_CACHE_HOME/docker-envs or ~/.cache/docker-envs)");
  prune_cmd->add_option("--max-size", prune->max_size,
                        "Remove until the cache holds at most SIZE (10G, 500MiB, 0)")
      ->check(parsed_by(build::parse_size, "SIZE"));
  prune_cmd->add_option("--older-than", prune->older_than,
                        "Remove entries not used for DURATION (7d, 12h, 30m)")
      ->check(parsed_by(build::parse_duration, "DURATION"));
  prune_cmd->add_flag("--all", prune->all, "Remove every entry");
  prune_cmd->add_flag("--json", prune->json, "Print what was removed and kept as JSON");
  on_run(prune_cmd, commands, prune, run_prune);
}

}  // namespace de::cli
