// The solve of the libsolv backend: the request is checked, the pool built
// (solver_libsolv_pool.cpp), the namespace callback installed (solver_libsolv_matcher.cpp), the
// jobs given to libsolv, and its decisions read back as a Solution in install order, or its
// problems explained (solver_libsolv_problems.cpp). See solver_libsolv.hpp for how conda
// semantics are expressed in libsolv.
#include "conda/solver_libsolv.hpp"

#include <cstdint>

#include "conda/solver_internal.hpp"

namespace de::conda {

namespace libsolv {

Result<SolveOutcome> LibsolvSolve::run() {
  ::Pool* pool = pool_.get();
  // Validate the request first: a bad spec is the caller's error, not an unsatisfiable request.
  std::vector<std::pair<std::string, MatchSpec>> requested, pinned;
  for (const auto& s : input_.specs) {
    auto parsed = MatchSpec::parse(s);
    if (!parsed) return std::unexpected(std::move(parsed).error().add_context("requested spec"));
    requested.emplace_back(s, std::move(*parsed));
  }
  for (const auto& s : input_.pins) {
    auto parsed = MatchSpec::parse(s);
    if (!parsed) return std::unexpected(std::move(parsed).error().add_context("pinned spec"));
    pinned.emplace_back(s, std::move(*parsed));
  }
  DE_TRY(collect_candidates());
  DE_TRY(add_solvables());
  pool_setnamespacecallback(pool, &LibsolvSolve::namespace_callback, this);
  // Register parsed entries for every dependency text (parse each distinct text once).
  for (int kind = 0; kind < 2; ++kind)
    for (const auto& [text, dep] : dep_cache_[kind]) {
      Id str = GETRELDEP(pool, dep)->evr;
      if (specs_.contains(str)) continue;
      auto parsed = MatchSpec::parse(text);
      if (!parsed) continue;  // an unparsable dependency matches nothing (reported if needed)
      specs_.emplace(str, SpecEntry{text, std::move(*parsed), false});
    }
  auto register_spec = [&](const std::string& text, const MatchSpec& spec, bool constrain) {
    Id dep = *dep_for(text, constrain);
    Id str = GETRELDEP(pool, dep)->evr;
    specs_.try_emplace(str, SpecEntry{text, spec, false});
    return dep;
  };
  pool_createwhatprovides(pool);

  solv::Queue job;
  Unsolvable missing;
  for (const auto& [text, spec] : requested) {
    Id dep = register_spec(text, spec, false);
    Id off = pool_whatprovides(pool, dep);
    if (pool->whatprovidesdata[off] == 0) {
      std::string name = spec.name().to_string();
      missing.problems.push_back(
          {fmt::format("nothing provides the requested {} ({})", text, available_versions(name))});
      missing.conflicting_specs.push_back(text);
      continue;
    }
    job_specs_[dep] = text;
    job.push2(SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES, dep);
  }
  for (const auto& [text, spec] : pinned) {
    Id dep = register_spec(text, spec, true);
    job_specs_[dep] = "pin " + text;
    if (pool->whatprovidesdata[pool_whatprovides(pool, dep)] != 0)
      job.push2(SOLVER_LOCK | SOLVER_SOLVABLE_PROVIDES, dep);
  }
  if (!missing.problems.empty()) {
    missing.explanation = "The request cannot be satisfied:\n";
    for (const auto& p : missing.problems) missing.explanation += "  - " + p[0] + "\n";
    return SolveOutcome(std::move(missing));
  }

  solv::SolverOwner solver = solv::make_solver(pool);
  solver_set_flag(solver.get(), SOLVER_FLAG_ALLOW_DOWNGRADE, 1);
  if (solver_solve(solver.get(), job.get()) != 0) {
    solver_ = solver.get();
    Unsolvable u = explain();
    solver_ = nullptr;
    return SolveOutcome(std::move(u));
  }
  solver_ = solver.get();
  Solution s = solution();
  solver_ = nullptr;
  return SolveOutcome(std::move(s));
}

Solution LibsolvSolve::solution() {
  ::Pool* pool = pool_.get();
  solv::Queue decisions;
  solver_get_decisionqueue(solver_, decisions.get());
  std::vector<PackageRecord> chosen;
  for (Id p : decisions.ids()) {
    if (p <= 1 || static_cast<std::size_t>(p) >= solvable_to_candidate_.size()) continue;
    std::size_t ci = solvable_to_candidate_[p];
    if (ci == SIZE_MAX) continue;
    const Candidate& c = candidates_[ci];
    if (c.channel < 0) continue;  // virtual package
    PackageRecord r = *c.record;
    r.url = c.repodata->url_for(r);
    chosen.push_back(std::move(r));
  }
  (void)pool;
  return Solution{detail::topological_order(std::move(chosen))};
}

}  // namespace libsolv

std::unique_ptr<Solver> make_libsolv_solver(const SolverOptions& options) {
  class LibsolvSolver final : public Solver {
   public:
    explicit LibsolvSolver(SolverOptions o) : options_(std::move(o)) {}
    Result<SolveOutcome> solve(const SolveInput& input) override {
      libsolv::LibsolvSolve s(input);
      return s.run();
    }

   private:
    SolverOptions options_;
  };
  return std::make_unique<LibsolvSolver>(options);
}

}  // namespace de::conda
