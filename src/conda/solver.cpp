// The engine-independent parts of conda::Solver: channel priority names, the install order, and
// solve_environment (fetch repodata for the request's channels, then solve).
#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/conda/solver.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "conda/solver_cache.hpp"
#include "conda/solver_internal.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"

namespace de::conda {

Result<ChannelPriority> parse_channel_priority(std::string_view text) {
  if (text == "strict") return ChannelPriority::Strict;
  if (text == "flexible") return ChannelPriority::Flexible;
  if (text == "disabled") return ChannelPriority::Disabled;
  return fail(Code::InvalidArgument,
              "invalid channel priority '{}' (expected strict, flexible or disabled)", text);
}

std::string_view to_string(ChannelPriority priority) {
  switch (priority) {
    case ChannelPriority::Strict:
      return "strict";
    case ChannelPriority::Flexible:
      return "flexible";
    case ChannelPriority::Disabled:
      return "disabled";
  }
  return "strict";
}

namespace detail {

std::string_view spec_package_name(std::string_view spec) {
  while (!spec.empty() && (spec.front() == ' ' || spec.front() == '\t')) spec.remove_prefix(1);
  if (spec.find("://") != std::string_view::npos || spec.ends_with(".conda") ||
      spec.ends_with(".tar.bz2"))
    return {};  // a package URL or path: the caller parses it
  auto end = spec.find_first_of(" =<>!~[;,|(@#\t");
  auto colons = spec.find("::");
  if (colons != std::string_view::npos && (end == std::string_view::npos || colons < end)) {
    spec.remove_prefix(colons + 2);
    end = spec.find_first_of(" =<>!~[;,|(@#\t");
  }
  return spec.substr(0, end);
}

namespace {

// With every remaining record waiting on another, picks the one to install first: a member of a
// cycle (it reaches itself through unfinished dependencies) with the most remaining dependents
// (python before pip when they depend on each other), then the first by name.
std::size_t cycle_breaker(const std::vector<std::set<std::size_t>>& deps,
                          const std::vector<bool>& done) {
  std::size_t n = deps.size(), best = n, best_dependents = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    std::vector<bool> seen(n, false);
    std::vector<std::size_t> stack(deps[i].begin(), deps[i].end());
    bool cyclic = false;
    while (!stack.empty() && !cyclic) {
      std::size_t x = stack.back();
      stack.pop_back();
      if (done[x] || seen[x]) continue;
      if (x == i) cyclic = true;
      seen[x] = true;
      stack.insert(stack.end(), deps[x].begin(), deps[x].end());
    }
    if (!cyclic) continue;
    std::size_t dependents = 0;
    for (std::size_t j = 0; j < n; ++j)
      if (!done[j] && deps[j].contains(i)) ++dependents;
    if (best == n || dependents > best_dependents) best = i, best_dependents = dependents;
  }
  if (best != n) return best;
  for (std::size_t i = 0; i < n; ++i)
    if (!done[i]) return i;
  return 0;
}

}  // namespace

std::vector<PackageRecord> topological_order(std::vector<PackageRecord> records) {
  std::map<std::string, std::size_t> index;  // name -> position (sorted by name)
  std::sort(records.begin(), records.end(),
            [](const PackageRecord& a, const PackageRecord& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < records.size(); ++i) index.emplace(records[i].name, i);
  std::vector<std::set<std::size_t>> deps(records.size());
  for (std::size_t i = 0; i < records.size(); ++i)
    for (const auto& d : records[i].depends) {
      auto it = index.find(std::string(spec_package_name(d)));
      if (it != index.end() && it->second != i) deps[i].insert(it->second);
    }
  std::vector<PackageRecord> out;
  std::vector<bool> done(records.size(), false);
  std::size_t remaining = records.size();
  while (remaining > 0) {
    std::vector<std::size_t> level;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (done[i]) continue;
      bool ready =
          std::all_of(deps[i].begin(), deps[i].end(), [&](std::size_t d) { return done[d]; });
      if (ready) level.push_back(i);
    }
    if (level.empty()) level.push_back(cycle_breaker(deps, done));
    for (std::size_t i : level) done[i] = true;
    remaining -= level.size();
    for (std::size_t i : level) out.push_back(std::move(records[i]));
  }
  return out;
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;

// One subdir's records: parsed in full, or in the parsed cache (decoded on demand).
struct Source {
  std::optional<Repodata> full;
  std::optional<detail::CachedRepodata> cached;
};

// Reads a subdir through the parsed cache: its repodata.json as a local file (a local channel's
// own, or the revalidated download in the repodata cache), then the cached parse when its key
// matches that file, otherwise the file parsed and the cache (re)written. nullopt when there is no
// local file to key on: remote channels without a repodata cache, and channels with a token (their
// base URL carries the token, which must not be written to the parsed cache).
Result<std::optional<Source>> load_through_cache(const Channel& channel, std::string_view subdir,
                                                 Fetcher& fetcher,
                                                 const RepodataFetchOptions& fetch_options,
                                                 const fs::path& cache_dir) {
  std::string url = channel.subdir_url(subdir) + "/repodata.json";
  if (!fetcher.local_path(url) && (fetch_options.cache_dir.empty() || channel.has_token()))
    return std::nullopt;
  fs::path doc = DE_TRY(fetch_repodata_file(channel, subdir, fetcher, fetch_options));
  auto key = DE_TRY_CTX(detail::repodata_cache_key(doc), "reading " + redact_url(url));
  fs::path file = detail::parsed_cache_path(cache_dir, doc);
  auto use = EntryUse::begin(cache_dir, "parsed/" + file.filename().string());
  if (auto cached = detail::CachedRepodata::open(file, key))
    return Source{.full = std::nullopt, .cached = std::move(*cached)};

  auto repodata = DE_TRY(load_fetched_repodata(channel, subdir, fetcher, doc));
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  Status written = ec ? fail(Code::Io, "creating {}: {}", file.parent_path().string(), ec.message())
                      : write_file_atomic(file, detail::CachedRepodata::encode(repodata, key));
  if (!written) log::warn("not caching parsed repodata: {}", written.error().to_string());
  return Source{.full = std::move(repodata), .cached = std::nullopt};
}

// The channels' repodata. With `prune_specs`, records of names the specs cannot reach (through
// depends, by name) are left out of subdirs read from the parsed cache.
Result<std::vector<ChannelRepodata>> load_channels(const EnvironmentSolveRequest& request,
                                                   Fetcher& fetcher,
                                                   const std::vector<std::string>* prune_specs) {
  if (request.channels.empty())
    return fail(Code::InvalidArgument,
                "no channels given: name at least one (-c conda-forge, or `channels:` in the "
                "environment file)");
  DE_TRY(parse_platform(request.platform));
  const fs::path& cache_dir = request.solver_options.cache_dir;
  struct Loaded {
    std::string channel;
    std::vector<Source> subdirs;
  };
  std::vector<Loaded> loaded;
  for (const auto& text : request.channels) {
    Channel channel = DE_TRY_CTX(Channel::parse(text, request.channel_options),
                                 fmt::format("channel '{}'", redact_url(text)));
    Loaded entry{.channel = channel.name(), .subdirs = {}};
    std::optional<Error> first_error;
    for (const auto& subdir : channel.subdirs(request.platform)) {
      std::optional<Source> source;
      if (!cache_dir.empty()) {
        auto through = load_through_cache(channel, subdir, fetcher, request.repodata, cache_dir);
        if (!through) {
          // A channel may lack one of its subdirs (many have no noarch, some only noarch).
          if (through.error().code() != Code::NotFound) return std::unexpected(through.error());
          if (!first_error) first_error = through.error();
          continue;
        }
        source = std::move(*through);
      }
      if (!source) {
        auto repodata = fetch_repodata(channel, subdir, fetcher, request.repodata);
        if (!repodata) {
          if (repodata.error().code() != Code::NotFound) return std::unexpected(repodata.error());
          if (!first_error) first_error = repodata.error();
          continue;
        }
        source = Source{.full = std::move(*repodata), .cached = std::nullopt};
      }
      if (source->full && source->full->skipped > 0) {
        const Repodata& r = *source->full;
        log::warn("{}/{}: skipped {} malformed record(s){}{}", channel.to_string(), subdir,
                  r.skipped, r.skip_reasons.empty() ? "" : ", e.g. ",
                  r.skip_reasons.empty() ? "" : r.skip_reasons.front());
      } else if (source->cached && source->cached->skipped() > 0) {
        log::warn("{}/{}: skipped {} malformed record(s)", channel.to_string(), subdir,
                  source->cached->skipped());
      }
      entry.subdirs.push_back(std::move(*source));
    }
    if (entry.subdirs.empty())
      return fail(Code::NotFound,
                  "channel {} has no repodata for {} or noarch (is the channel name or URL "
                  "right?): {}",
                  channel.to_string(), request.platform,
                  first_error ? first_error->to_string() : "nothing found");
    loaded.push_back(std::move(entry));
  }

  // Names reachable from the specs, over every source (the solver prunes the same way).
  std::unordered_set<std::string_view> reachable;
  bool everything = prune_specs == nullptr;
  if (!everything) {
    std::unordered_map<std::string_view, std::vector<std::string_view>> full_deps;
    for (const auto& l : loaded)
      for (const auto& s : l.subdirs)
        if (s.full)
          for (const auto& r : s.full->records)
            for (const auto& d : r.depends) {
              std::string_view n = detail::spec_package_name(d);
              full_deps[r.name].push_back(n.empty() ? std::string_view("*") : n);
            }
    std::vector<std::string_view> work;
    auto reach = [&](std::string_view n) {
      if (n.empty() || n.find_first_of("*^$") != std::string_view::npos) {
        everything = true;
        return;
      }
      if (reachable.insert(n).second) work.push_back(n);
    };
    for (const auto& spec : *prune_specs) reach(detail::spec_package_name(spec));
    while (!work.empty() && !everything) {
      std::string_view n = work.back();
      work.pop_back();
      if (auto it = full_deps.find(n); it != full_deps.end())
        for (auto d : it->second) reach(d);
      for (const auto& l : loaded)
        for (const auto& s : l.subdirs)
          if (s.cached)
            if (auto it = s.cached->dependency_names().find(n);
                it != s.cached->dependency_names().end())
              for (auto d : it->second) reach(d);
    }
  }

  std::vector<ChannelRepodata> out;
  for (auto& l : loaded) {
    ChannelRepodata entry{.channel = l.channel, .subdirs = {}};
    for (auto& s : l.subdirs) {
      if (s.full)
        entry.subdirs.push_back(std::move(*s.full));
      else
        entry.subdirs.push_back(everything ? s.cached->materialize_all()
                                           : s.cached->materialize(reachable));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

Result<std::vector<ChannelRepodata>> fetch_channels(const EnvironmentSolveRequest& request,
                                                    Fetcher& fetcher) {
  return load_channels(request, fetcher, nullptr);
}

Result<SolveOutcome> solve_environment(const EnvironmentSolveRequest& request, Fetcher& fetcher) {
  SolveInput input;
  auto start = std::chrono::steady_clock::now();
  input.channels = DE_TRY(load_channels(request, fetcher, &request.specs));
  auto loaded = std::chrono::steady_clock::now();
  input.virtual_packages = DE_TRY(virtual_packages(request.platform, request.virtual_overrides));
  input.specs = request.specs;
  input.pins = request.pins;
  input.channel_priority = request.channel_priority;
  auto solver = make_libsolv_solver(request.solver_options);
  auto outcome = solver->solve(input);
  auto solved = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  log::debug("solve: repodata loaded in {:.0f} ms, solved in {:.0f} ms", ms(loaded - start).count(),
             ms(solved - loaded).count());
  return outcome;
}

}  // namespace de::conda
