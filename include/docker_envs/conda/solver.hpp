// Resolving match specs into an exact, installable set of packages.
//
// The Solver interface is pure: it takes parsed repodata, virtual packages and specs and returns
// a SolveOutcome, doing no I/O of its own. solve_environment() is the convenience that fetches
// each channel's repodata (platform + noarch) through a Fetcher first, keeping parsed repodata of
// local channels in a cache under SolverOptions::cache_dir (see docs/solver.md).
//
// Semantics (docs/solver.md has the details):
//  * depends and constrains with full match-spec semantics (conda's MatchSpec, build globs...);
//  * at most one record per package name;
//  * channel priority: Strict (default) takes a name only from the highest-priority channel that
//    has it (unless a spec names the channel: "conda-forge::numpy"); Flexible prefers higher
//    channels but may fall back; Disabled ignores channel order;
//  * preference as mamba: the newest versions of the requested packages first, then of their
//    dependencies; higher build numbers; records with track_features last; noarch and arch
//    builds compared on version and build number alone.
//
// An unsatisfiable request is an outcome (Unsolvable), not an error: it explains, in conda terms
// (package names, versions, specs; never engine internals), which requested specs conflict and
// through which dependencies. Errors are reserved for bad input (an invalid spec) and I/O.
//
// The libsolv backend (make_libsolv_solver) keeps no state between solve() calls; a Solver object
// is not thread-safe, separate objects are independent.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "docker_envs/conda/repodata.hpp"
#include "docker_envs/conda/virtual_packages.hpp"

namespace de::conda {

enum class ChannelPriority { Strict, Flexible, Disabled };
// "strict" | "flexible" | "disabled"; InvalidArgument otherwise.
Result<ChannelPriority> parse_channel_priority(std::string_view text);
std::string_view to_string(ChannelPriority priority);

// The repodata of one channel: one Repodata per subdir read (usually the platform and noarch).
struct ChannelRepodata {
  std::string channel;  // display name, as in PackageRecord::channel ("conda-forge")
  std::vector<Repodata> subdirs;
};

struct SolveInput {
  std::vector<ChannelRepodata> channels;        // highest priority first
  std::vector<PackageRecord> virtual_packages;  // see virtual_packages()
  std::vector<std::string> specs;               // requested match specs
  // Extra constraints that do not request anything (like `constrains`): a pinned spec restricts
  // the versions of its package when something pulls it in.
  std::vector<std::string> pins;
  ChannelPriority channel_priority = ChannelPriority::Strict;
};

struct Solution {
  // Topological install order (dependencies first; ties by name), virtual packages excluded.
  // Each record as in repodata, with `url` set (base_url + fn) and `channel` its display name.
  std::vector<PackageRecord> packages;
};

struct Unsolvable {
  // Human-readable, several lines: what was asked, why it cannot be satisfied.
  std::string explanation;
  // One entry per independent problem, each a list of conda-terms facts
  // ("numpy 1.7.1 py27_0 requires python 2.7*", "nothing provides foo >=2 (available: 1.0, 1.1)").
  std::vector<std::vector<std::string>> problems;
  // The requested specs involved in the conflict (as given).
  std::vector<std::string> conflicting_specs;
};

using SolveOutcome = std::variant<Solution, Unsolvable>;

struct SolverOptions {
  // Where parsed repodata is cached between runs (<cache_dir>/parsed/; empty: no cache). Used by
  // solve_environment; the Solver itself does not touch the disk.
  std::filesystem::path cache_dir;
};

class Solver {
 public:
  virtual ~Solver() = default;
  // InvalidArgument for a spec that does not parse (naming it); otherwise a Solution or an
  // Unsolvable.
  virtual Result<SolveOutcome> solve(const SolveInput& input) = 0;
};

std::unique_ptr<Solver> make_libsolv_solver(const SolverOptions& options = {});

// What `docker-envs solve/lock/build` ask for: channels as written, specs, target platform.
struct EnvironmentSolveRequest {
  std::vector<std::string> channels;  // priority order ("conda-forge", URLs, local paths)
  std::vector<std::string> specs;
  std::vector<std::string> pins;
  std::string platform = "linux-64";
  ChannelPriority channel_priority = ChannelPriority::Strict;
  VirtualPackageOverrides virtual_overrides;
  ChannelOptions channel_options;
  SolverOptions solver_options;
  // Where downloaded repodata is cached, and whether to use only that cache (--offline).
  RepodataFetchOptions repodata;
};

// Parses the channels, fetches <channel>/<platform> and <channel>/noarch repodata through
// `fetcher` (a subdir missing from a channel is tolerated when the other one exists; a channel
// with neither is a NotFound error naming its redacted URL), builds the virtual packages and
// solves. Malformed records are skipped; their count is logged as a warning per subdir.
Result<SolveOutcome> solve_environment(const EnvironmentSolveRequest& request, Fetcher& fetcher);

// Gathers the full repodata of the request's channels (every record; solve_environment reads
// only the records its specs can reach). Exposed for lock and benchmarks.
Result<std::vector<ChannelRepodata>> fetch_channels(const EnvironmentSolveRequest& request,
                                                    Fetcher& fetcher);

}  // namespace de::conda
