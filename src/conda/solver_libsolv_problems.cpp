// The explanation of an unsatisfiable libsolv solve: the facts of each problem (requested specs,
// requirements, constraints, same-name exclusions), the chains from a requested spec to a
// conflict, and the versions that exist.
#include <algorithm>
#include <cstdint>
#include <set>

#include "conda/solver_internal.hpp"
#include "conda/solver_libsolv.hpp"

namespace de::conda::libsolv {

namespace {

std::string display(const PackageRecord& r) {
  return fmt::format("{} {} {}", r.name, r.version, r.build);
}

// "1.0, 1.1, ..." of the candidates, ascending, each version once; long lists are elided.
std::string version_list(std::vector<const Candidate*> cs) {
  std::sort(cs.begin(), cs.end(),
            [](const Candidate* a, const Candidate* b) { return a->version < b->version; });
  std::vector<std::string> versions;
  for (const Candidate* c : cs)
    if (versions.empty() || versions.back() != c->record->version)
      versions.push_back(c->record->version);
  if (versions.size() > 12)
    return fmt::format("{}, ... ({} more) ..., {}",
                       fmt::join(versions.begin(), versions.begin() + 4, ", "), versions.size() - 8,
                       fmt::join(versions.end() - 4, versions.end(), ", "));
  return fmt::format("{}", fmt::join(versions, ", "));
}

}  // namespace

std::string LibsolvSolve::describe_solvable(Id p) const {
  if (p <= 1 || static_cast<std::size_t>(p) >= solvable_to_candidate_.size() ||
      solvable_to_candidate_[p] == SIZE_MAX)
    return "the system";
  const Candidate& c = candidates_[solvable_to_candidate_[p]];
  std::string out = display(*c.record);
  if (c.channel < 0) return out + " (virtual package of the target)";
  if (input_.channels.size() > 1 && c.channel >= 0) out += " (" + c.record->channel + ")";
  return out;
}

std::string LibsolvSolve::spec_of(Id dep) const {
  ::Pool* pool = pool_.get();
  if (ISRELDEP(dep)) {
    ::Reldep* rd = GETRELDEP(pool, dep);
    if (rd->flags == REL_NAMESPACE) return pool_id2str(pool, rd->evr);
  }
  return pool_dep2str(pool, dep);
}

std::string LibsolvSolve::available_versions(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end() || it->second.empty()) return "no package of that name exists";
  std::vector<const Candidate*> usable, ignored;
  int top = 0;
  if (input_.channel_priority == ChannelPriority::Strict) {
    auto t = top_channel_.find(name);
    if (t != top_channel_.end()) top = t->second;
  }
  for (std::size_t i : it->second) {
    const Candidate* c = &candidates_[i];
    bool hidden =
        input_.channel_priority == ChannelPriority::Strict && c->channel >= 0 && c->channel != top;
    (hidden ? ignored : usable).push_back(c);
  }
  std::string out = "available versions: " + version_list(usable);
  if (ignored.empty()) return out;
  // Strict channel priority: the versions of lower-priority channels are not candidates. Say so,
  // or the message would claim a version does not exist that the user can see in a channel.
  const std::string& top_name = input_.channels[static_cast<std::size_t>(top)].channel;
  out = fmt::format("available versions in {}: {}", top_name, version_list(usable));
  std::map<int, std::vector<const Candidate*>> by_channel;
  for (const Candidate* c : ignored) by_channel[c->channel].push_back(c);
  for (const auto& [ci, cs] : by_channel)
    out += fmt::format(
        "; {} has {} too, not considered under strict channel priority because {} "
        "has {} (use --channel-priority flexible, or ask for {}::{})",
        input_.channels[static_cast<std::size_t>(ci)].channel, version_list(cs), top_name, name,
        input_.channels[static_cast<std::size_t>(ci)].channel, name);
  return out;
}

Unsolvable LibsolvSolve::explain() {
  ::Pool* pool = pool_.get();
  Unsolvable out;
  std::set<std::string> conflicting;
  unsigned count = solver_problem_count(solver_);
  for (Id problem = 1; problem <= static_cast<Id>(count); ++problem) {
    solv::Queue rules;
    solver_findallproblemrules(solver_, problem, rules.get());
    std::vector<std::string> facts;
    // Requires edges seen in this problem: solvable -> deps; used to print chains.
    std::map<Id, std::vector<Id>> requires_deps;
    std::vector<Id> job_deps;
    std::vector<Id> conflict_ends;  // solvables at the end of a chain (conflicts, same name...)
    std::map<std::string, std::set<std::string>>
        same_name;                    // name -> versions that exclude each other
    std::vector<std::string> chains;  // listed first: they say why, the facts say what
    auto add_fact = [&](std::string f) {
      if (std::find(facts.begin(), facts.end(), f) == facts.end()) facts.push_back(std::move(f));
    };
    for (Id rid : rules.ids()) {
      Id from = 0, to = 0, dep = 0;
      SolverRuleinfo type = solver_ruleinfo(solver_, rid, &from, &to, &dep);
      switch (type) {
        case SOLVER_RULE_JOB:
        case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
        case SOLVER_RULE_JOB_UNKNOWN_PACKAGE: {
          auto it = job_specs_.find(dep);
          std::string text = it != job_specs_.end() ? it->second : spec_of(dep);
          if (!text.starts_with("pin ")) conflicting.insert(text);
          job_deps.push_back(dep);
          add_fact(text.starts_with("pin ") ? "pinned " + text.substr(4) : "requested " + text);
          break;
        }
        case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP: {
          std::string spec = spec_of(dep);
          std::string name(detail::spec_package_name(spec));
          add_fact(fmt::format("{} requires {}, but no package matches it ({})",
                               describe_solvable(from), spec, available_versions(name)));
          conflict_ends.push_back(from);
          break;
        }
        case SOLVER_RULE_PKG_REQUIRES:
          requires_deps[from].push_back(dep);
          add_fact(fmt::format("{} requires {}", describe_solvable(from), spec_of(dep)));
          break;
        case SOLVER_RULE_PKG_CONFLICTS:
        case SOLVER_RULE_PKG_CONSTRAINS:
          add_fact(fmt::format("{} constrains {}, which {} does not satisfy",
                               describe_solvable(from), spec_of(dep), describe_solvable(to)));
          conflict_ends.push_back(from);
          conflict_ends.push_back(to);
          break;
        case SOLVER_RULE_PKG_SAME_NAME:
        case SOLVER_RULE_PKG_IMPLICIT_OBSOLETES:
        case SOLVER_RULE_PKG_OBSOLETES:
          same_name[pool_id2str(pool, pool_id2solvable(pool, from)->name)].insert(
              describe_solvable(from));
          same_name[pool_id2str(pool, pool_id2solvable(pool, to)->name)].insert(
              describe_solvable(to));
          conflict_ends.push_back(from);
          conflict_ends.push_back(to);
          break;
        case SOLVER_RULE_PKG_NOT_INSTALLABLE:
          add_fact(fmt::format("{} cannot be installed", describe_solvable(from)));
          break;
        case SOLVER_RULE_UPDATE:
        case SOLVER_RULE_FEATURE:
          // A virtual package is kept: the target image has it.
          add_fact(fmt::format("the target has {}", describe_solvable(from)));
          break;
        default:
          break;  // learnt/choice/best rules restate the above
      }
    }
    for (const auto& [name, versions] : same_name) {
      std::vector<std::string> shown(versions.begin(), versions.end());
      std::string more;
      if (shown.size() > 6) {
        more = fmt::format(" and {} more", shown.size() - 6);
        shown.resize(6);
      }
      add_fact(fmt::format("only one {} can be installed, but these exclude each other: {}{}", name,
                           fmt::join(shown, ", "), more));
    }
    // Chains: from each requested spec through `requires` edges of this problem to each package
    // at a conflict. Breadth-first, so the shortest chain is printed.
    for (Id start_dep : job_deps) {
      auto it = job_specs_.find(start_dep);
      if (it == job_specs_.end() || it->second.starts_with("pin ")) continue;
      std::map<Id, std::pair<Id, Id>> parent;  // solvable -> (previous solvable, dep)
      std::vector<Id> frontier;
      // Offsets first: pool_whatprovides may grow (move) whatprovidesdata.
      for (Id off = pool_whatprovides(pool, start_dep); pool->whatprovidesdata[off]; ++off) {
        Id p = pool->whatprovidesdata[off];
        parent.emplace(p, std::make_pair(0, start_dep));
        frontier.push_back(p);
      }
      for (std::size_t i = 0; i < frontier.size(); ++i) {
        Id s = frontier[i];
        auto rd = requires_deps.find(s);
        if (rd == requires_deps.end()) continue;
        for (Id d : rd->second)
          for (Id off = pool_whatprovides(pool, d); pool->whatprovidesdata[off]; ++off)
            if (parent.emplace(pool->whatprovidesdata[off], std::make_pair(s, d)).second)
              frontier.push_back(pool->whatprovidesdata[off]);
      }
      for (Id end : conflict_ends) {
        auto found = parent.find(end);
        if (found == parent.end()) continue;
        std::vector<std::string> steps;
        for (Id cur = end; cur != 0;) {
          auto [prev, via] = parent[cur];
          steps.push_back(describe_solvable(cur));
          steps.push_back(prev == 0 ? it->second : spec_of(via));
          cur = prev;
        }
        std::reverse(steps.begin(), steps.end());
        std::string chain = "chain: " + fmt::format("{}", fmt::join(steps, " -> "));
        if (steps.size() > 2 && std::find(chains.begin(), chains.end(), chain) == chains.end())
          chains.push_back(std::move(chain));
      }
    }
    if (chains.size() > 10) chains.resize(10);
    facts.insert(facts.begin(), chains.begin(), chains.end());
    if (facts.size() > 40) {  // keep it readable; the first facts carry the request and chains
      std::size_t dropped = facts.size() - 40;
      facts.resize(40);
      facts.push_back(fmt::format("... and {} more facts", dropped));
    }
    if (!facts.empty()) out.problems.push_back(std::move(facts));
  }
  out.conflicting_specs.assign(conflicting.begin(), conflicting.end());
  out.explanation = "The request cannot be satisfied";
  if (!out.conflicting_specs.empty())
    out.explanation +=
        fmt::format(": these requested specs conflict: {}", fmt::join(out.conflicting_specs, ", "));
  out.explanation += "\n";
  for (std::size_t i = 0; i < out.problems.size(); ++i) {
    if (out.problems.size() > 1) out.explanation += fmt::format("Problem {}:\n", i + 1);
    for (const auto& f : out.problems[i]) out.explanation += "  - " + f + "\n";
  }
  return out;
}

}  // namespace de::conda::libsolv
