// Private (resolver): a project's files turned into candidates for the target — one per version,
// its best compatible wheel — and the facts that explain why a project has none.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/dist_filename.hpp"
#include "docker_envs/pypi/simple_api.hpp"
#include "docker_envs/pypi/specifier.hpp"
#include "docker_envs/pypi/target.hpp"

namespace de::pypi::detail {

struct Candidate {
  std::string name;  // normalised
  Version version;
  DistributionFile file;  // empty for a distribution installed by conda
  std::size_t priority = 0;
  std::optional<BuildTag> build;
};

struct ProjectCandidates {
  // Newest first. Per version the compatible wheel with the best tag priority, then the highest
  // build tag; a yanked wheel only when every compatible wheel of that version is yanked.
  std::vector<Candidate> candidates;
  std::set<Version> sdist_only;                          // source distributions, no usable wheel
  std::map<Version, std::set<std::string>> incompatible;  // only wheels for other targets
  std::map<Version, std::string> wrong_python;            // Requires-Python excludes the target
};

ProjectCandidates group_candidates(const std::string& name,
                                   const std::vector<DistributionFile>& files,
                                   const Target& target);

// The one candidate of `name @ url`: a wheel for the target (Unsupported for a source
// distribution or an incompatible wheel, InvalidArgument for a URL that names no wheel of `name`).
Result<ProjectCandidates> direct_url_candidates(const std::string& name, const std::string& url,
                                                const Target& target);

// Why no candidate of `name` fits `combined` (required as `required_by`).
std::string explain_no_candidate(const std::string& name, const ProjectCandidates& project,
                                 const SpecifierSet& combined, const std::string& required_by,
                                 const std::optional<Version>& pinned, const Target& target);

}  // namespace de::pypi::detail
