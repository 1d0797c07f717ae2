// Resolving PyPI requirements to wheels for the target image (see docs/pypi.md for the design).
//
// Given PEP 508 requirements, the Target (markers, tags, Python), a DistributionSource (an index
// client) and the distributions the conda packages already install (name -> version), pick one
// wheel per distribution such that every requirement reachable from the request holds:
//  * wheels only, each the most specific compatible one of its version (TagSet priority, then
//    the highest build tag); a version without a compatible wheel is no candidate, and when no
//    candidate is left for that reason the outcome names the versions that have only source
//    distributions or incompatible wheels, and the versions that do have a compatible wheel;
//  * Requires-Python (from the index and from the metadata) holds for the target's Python;
//  * yanked files (PEP 592) only when the version is pinned with `==` (no wildcard) or `===`;
//  * pre-releases only when allowed, named by a specifier, or when nothing else fits (PEP 440);
//  * extras pull in the requirements whose markers hold with `extra` set to them;
//  * a distribution installed by conda is a fact: its version must satisfy every requirement on
//    it (it is never replaced), and it is not fetched.
// Newest versions are tried first; on a dead end the resolver backtracks (chronologically, with a
// bound on the work). Unsatisfiable requests give an Unresolvable outcome explaining the
// conflict; errors are reserved for bad metadata and I/O.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/pypi/metadata.hpp"
#include "docker_envs/pypi/requirement.hpp"
#include "docker_envs/pypi/simple_api.hpp"
#include "docker_envs/pypi/target.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::pypi {

// Where the resolver reads what exists: IndexClient, or a fake in tests. With
// ResolveRequest::fetch_threads > 1 both calls are made from several threads at once, so an
// implementation must be thread-safe; `cancel`, when given, is cancelled once another fetch of
// the same batch failed, and the call may then give up early with an error.
class DistributionSource {
 public:
  virtual ~DistributionSource() = default;
  // Every file of the project (any spelling); empty when it has none.
  virtual Result<std::vector<DistributionFile>> project_files(
      std::string_view project, const Cancellation* cancel = nullptr) = 0;
  // The core metadata of one of those files.
  virtual Result<CoreMetadata> file_metadata(const DistributionFile& file,
                                             const Cancellation* cancel = nullptr) = 0;
};

struct ResolveRequest {
  std::vector<Requirement> requirements;
  // Normalised name -> version of the distributions the conda packages install.
  std::map<std::string, Version> installed;
  bool allow_prereleases = false;
  // How many candidate versions may be tried in all before giving up (a pathological index).
  std::size_t max_attempts = 20000;
  // Project pages and metadata files fetched at once. Before the search needs a page it has not
  // read, the pages of every name required so far are fetched together, with the metadata of the
  // candidate each would try first and, transitively, what those require (a guess: the search
  // still decides, and asks again for anything the guess missed). 1: one request at a time, as
  // the search asks. The outcome, errors included, is the same either way.
  unsigned fetch_threads = 8;
};

struct ResolvedDistribution {
  std::string name;  // as the metadata spells it
  Version version;
  DistributionFile file;
  std::vector<std::string> extras;  // the extras it was resolved with (normalised, sorted)
  bool requested = false;           // named by the request itself (REQUESTED, PEP 376)
  std::vector<Requirement> requires_dist;
};

struct Resolution {
  std::vector<ResolvedDistribution> distributions;  // sorted by normalised name
};

struct Unresolvable {
  // Several lines: which requirements conflict, and through which distributions.
  std::string explanation;
};

using ResolveOutcome = std::variant<Resolution, Unresolvable>;

Result<ResolveOutcome> resolve(const ResolveRequest& request, const Target& target,
                               DistributionSource& source);

}  // namespace de::pypi
