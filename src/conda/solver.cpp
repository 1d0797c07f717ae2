// The engine-independent parts of conda::Solver: channel priority names, the install order, and
// solve_environment (fetch repodata for the request's channels, then solve).
#include "docker_envs/conda/solver.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "conda/solver_internal.hpp"
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

Result<std::vector<ChannelRepodata>> fetch_channels(const EnvironmentSolveRequest& request,
                                                    Fetcher& fetcher) {
  if (request.channels.empty())
    return fail(Code::InvalidArgument,
                "no channels given: name at least one (-c conda-forge, or `channels:` in the "
                "environment file)");
  DE_TRY(parse_platform(request.platform));
  std::vector<ChannelRepodata> out;
  for (const auto& text : request.channels) {
    Channel channel = DE_TRY_CTX(Channel::parse(text, request.channel_options),
                                 fmt::format("channel '{}'", redact_url(text)));
    ChannelRepodata entry{.channel = channel.name(), .subdirs = {}};
    std::optional<Error> first_error;
    for (const auto& subdir : channel.subdirs(request.platform)) {
      auto repodata = fetch_repodata(channel, subdir, fetcher, request.repodata);
      if (!repodata) {
        // A channel may lack one of its subdirs (many have no noarch, some only noarch).
        if (repodata.error().code() != Code::NotFound) return std::unexpected(repodata.error());
        if (!first_error) first_error = repodata.error();
        continue;
      }
      if (repodata->skipped > 0)
        log::warn("{}/{}: skipped {} malformed record(s){}{}", channel.to_string(), subdir,
                  repodata->skipped, repodata->skip_reasons.empty() ? "" : ", e.g. ",
                  repodata->skip_reasons.empty() ? "" : repodata->skip_reasons.front());
      entry.subdirs.push_back(std::move(*repodata));
    }
    if (entry.subdirs.empty())
      return fail(Code::NotFound,
                  "channel {} has no repodata for {} or noarch (is the channel name or URL "
                  "right?): {}",
                  channel.to_string(), request.platform,
                  first_error ? first_error->to_string() : "nothing found");
    out.push_back(std::move(entry));
  }
  return out;
}

Result<SolveOutcome> solve_environment(const EnvironmentSolveRequest& request, Fetcher& fetcher) {
  SolveInput input;
  input.channels = DE_TRY(fetch_channels(request, fetcher));
  input.virtual_packages = DE_TRY(virtual_packages(request.platform, request.virtual_overrides));
  input.specs = request.specs;
  input.pins = request.pins;
  input.channel_priority = request.channel_priority;
  auto solver = make_libsolv_solver(request.solver_options);
  return solver->solve(input);
}

}  // namespace de::conda
