// The libsolv backend of conda::Solver (DESIGN.md §4), private to the conda module: the solve
// object shared by its parts, one file each (the lines along which mamba splits its
// libsolv solver: database, matcher, solver, unsolvable):
//   solver_libsolv_pool.cpp      the database: candidates reachable from the request, their rank,
//                                solvables and dependency ids
//   solver_libsolv_matcher.cpp   the namespace callback: which solvables a match spec selects
//   solver_libsolv.cpp           the solve: jobs, libsolv's run, the solution, the Solver factory
//   solver_libsolv_problems.cpp  the explanation of an unsatisfiable request
//
// Debian's libsolv has no conda support compiled in, so conda semantics are expressed with what
// every libsolv has:
//  * each record is a solvable named after the package, with an EVR that is its *rank* among the
//    records of that name (a decimal number: higher = preferred). The rank order is computed here
//    from conda's rules (channel priority when flexible, track_features, VersionOrder, build
//    number, timestamp), so libsolv's "highest EVR wins" is conda's preference;
//  * every record provides `name = rank`, so libsolv's same-name rules allow one version per name;
//  * every match spec (depends, requested specs) is a REL_NAMESPACE dependency whose providers our
//    callback computes with MatchSpec::matches; a `constrains` entry is a conflict with a second
//    namespace whose providers are the records of that name that do NOT match;
//  * only records of names reachable from the request (through depends, by name) enter the pool,
//    so a solve touches a small part of a 500k-record channel.
// Pitfalls handled: an empty callback result returns 0 (an empty whatprovides would mean "the
// system provides it"); a requested spec matching nothing is reported before solving (libsolv
// would drop the job silently); pool_createwhatprovides runs after all solvables exist; dependency
// ids are cached per spec text.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/conda/version.hpp"
#include "ffi/solv.hpp"

namespace de::conda::libsolv {

namespace solv = ffi::solv;

struct Candidate {
  const PackageRecord* record = nullptr;
  const Repodata* repodata = nullptr;  // null for virtual packages
  int channel = 0;                     // index in SolveInput::channels; -1 for virtual packages
  Version version;
  int track_features = 0;  // number of features
  Id solvable = 0;
};

// A parsed spec and what its namespace dependency resolves to.
struct SpecEntry {
  std::string text;
  MatchSpec spec;
  bool constrain = false;  // providers are the NON-matching records of the name
};

class LibsolvSolve {
 public:
  explicit LibsolvSolve(const SolveInput& input) : input_(input), pool_(solv::make_pool()) {}

  Result<SolveOutcome> run();

 private:
  Status collect_candidates();
  Status add_solvables();
  Result<Id> dep_for(std::string_view text, bool constrain);
  Id resolve_namespace(Id name, Id evr);
  static Id namespace_callback(::Pool*, void* data, Id name, Id evr) {
    return static_cast<LibsolvSolve*>(data)->resolve_namespace(name, evr);
  }
  bool matches(const MatchSpec& spec, const Candidate& c) const;
  // The newest version each dependency of a candidate can get, by dependency name (sorted).
  const std::vector<std::pair<std::string_view, const Version*>>& dependency_best(std::size_t ci);
  // >0 when the dependencies of `a` can get newer versions than those of `b` (conda's tie-break
  // between builds of one version: numpy py312 before py311).
  int compare_dependencies(std::size_t a, std::size_t b);
  std::string available_versions(std::string_view name) const;
  std::string describe_solvable(Id p) const;
  std::string spec_of(Id dep) const;
  Unsolvable explain();
  Solution solution();

  const SolveInput& input_;
  solv::PoolOwner pool_;
  Id ns_depends_ = 0, ns_constrains_ = 0;
  std::vector<Candidate> candidates_;
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_name_;
  std::unordered_map<std::string_view, int> top_channel_;
  std::vector<std::size_t> solvable_to_candidate_;  // indexed by solvable id
  std::unordered_map<Id, SpecEntry> specs_;         // by string id of the spec text
  std::unordered_map<std::string, Id> dep_cache_[2];
  std::map<Id, std::string> job_specs_;  // dep -> requested spec text
  std::size_t bad_versions_ = 0;
  // For compare_dependencies: candidates of each name, newest version first; the best version
  // per dependency text; per candidate, its dependencies' best versions.
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_version_;
  std::unordered_map<std::string_view, const Version*> best_for_dep_;
  std::unordered_map<std::size_t, std::vector<std::pair<std::string_view, const Version*>>>
      dependency_best_;
  ::Solver* solver_ = nullptr;  // during run(): the solver whose result is read
};

}  // namespace de::conda::libsolv
