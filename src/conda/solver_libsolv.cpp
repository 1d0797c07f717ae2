// The libsolv backend of conda::Solver (DESIGN.md §4).
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
#include "ffi/solv.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "conda/solver_internal.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/conda/version.hpp"

namespace de::conda {

namespace {

namespace solv = ffi::solv;

struct Candidate {
  const PackageRecord* record = nullptr;
  const Repodata* repodata = nullptr;  // null for virtual packages
  int channel = 0;                     // index in SolveInput::channels; -1 for virtual packages
  Version version;
  int track_features = 0;  // number of features
  Id solvable = 0;
};

int count_features(std::string_view text) {
  int n = 0;
  bool in_word = false;
  for (char c : text) {
    bool sep = c == ' ' || c == ',' || c == '\t';
    if (!sep && !in_word) ++n;
    in_word = !sep;
  }
  return n;
}

std::string display(const PackageRecord& r) {
  return fmt::format("{} {} {}", r.name, r.version, r.build);
}

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

Result<Id> LibsolvSolve::dep_for(std::string_view text, bool constrain) {
  auto& cache = dep_cache_[constrain ? 1 : 0];
  std::string key(text);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  ::Pool* pool = pool_.get();
  Id str = pool_strn2id(pool, text.data(), static_cast<unsigned>(text.size()), 1);
  Id dep = pool_rel2id(pool, constrain ? ns_constrains_ : ns_depends_, str, REL_NAMESPACE, 1);
  cache.emplace(std::move(key), dep);
  return dep;
}

bool LibsolvSolve::matches(const MatchSpec& spec, const Candidate& c) const {
  const PackageRecord& r = *c.record;
  std::string md5, sha256, url;
  if (spec.md5() && r.md5) md5 = r.md5->hex();
  if (spec.sha256() && r.sha256) sha256 = r.sha256->hex();
  if ((spec.url() || spec.fn()) && c.repodata) url = c.repodata->url_for(r);
  PackageRecordView view{.name = r.name,
                         .version = &c.version,
                         .build = r.build,
                         .build_number = r.build_number,
                         .channel = r.channel,
                         .subdir = r.subdir,
                         .md5 = md5,
                         .sha256 = sha256,
                         .license = r.license,
                         .fn = r.fn,
                         .url = url,
                         .track_features = r.track_features};
  return spec.matches(view);
}

Id LibsolvSolve::resolve_namespace(Id name, Id evr) {
  auto it = specs_.find(evr);
  if (it == specs_.end()) {
    // A spec text we did not register (cannot happen: every dep goes through dep_for).
    const char* text = pool_id2str(pool_.get(), evr);
    auto parsed = MatchSpec::parse(text);
    if (!parsed) return 0;
    it = specs_.emplace(evr, SpecEntry{text, std::move(*parsed), false}).first;
  }
  const SpecEntry& e = it->second;
  bool constrain = name == ns_constrains_;
  solv::Queue q;
  auto consider = [&](const std::vector<std::size_t>& list, std::string_view pkg_name) {
    int top = 0;
    bool strict_filter =
        !constrain && input_.channel_priority == ChannelPriority::Strict && !e.spec.channel();
    if (strict_filter) {
      auto t = top_channel_.find(pkg_name);
      top = t == top_channel_.end() ? 0 : t->second;
    }
    for (std::size_t i : list) {
      const Candidate& c = candidates_[i];
      if (c.solvable == 0) continue;
      if (strict_filter && c.channel >= 0 && c.channel != top) continue;
      if (matches(e.spec, c) != constrain) q.push(c.solvable);
    }
  };
  if (e.spec.name().is_exact()) {
    auto found = by_name_.find(e.spec.name().to_string());
    if (found != by_name_.end()) consider(found->second, found->first);
  } else {
    for (const auto& [n, list] : by_name_)
      if (e.spec.name().matches(n)) consider(list, n);
  }
  if (q.size() == 0) return 0;  // never an empty whatprovides: that means "system provides"
  return pool_queuetowhatprovides(pool_.get(), q.get());
}

// Collects the records of every name reachable from the request and ranks them.
Status LibsolvSolve::collect_candidates() {
  // All records by name (views into the input; no copies).
  struct Ref {
    const PackageRecord* record;
    const Repodata* repodata;
    int channel;
  };
  std::unordered_map<std::string_view, std::vector<Ref>> all;
  for (std::size_t ci = 0; ci < input_.channels.size(); ++ci)
    for (const auto& rd : input_.channels[ci].subdirs)
      for (const auto& r : rd.records) all[r.name].push_back({&r, &rd, static_cast<int>(ci)});
  for (const auto& r : input_.virtual_packages) all[r.name].push_back({&r, nullptr, -1});

  // Names reachable from specs and pins (pins only restrict, but naming them is harmless).
  std::unordered_set<std::string_view> reachable;
  std::vector<std::string_view> work;
  auto reach = [&](std::string_view dep) {
    std::string_view name = detail::spec_package_name(dep);
    if (name.empty()) return;
    if (name.find_first_of("*^$") != std::string_view::npos) {
      auto parsed = MatchSpec::parse(dep);
      for (const auto& [n, refs] : all)
        if (parsed && parsed->name().matches(n) && reachable.insert(n).second) work.push_back(n);
      return;
    }
    auto it = all.find(name);
    if (it != all.end() && reachable.insert(it->first).second) work.push_back(it->first);
  };
  for (const auto& s : input_.specs) reach(s);
  while (!work.empty()) {
    std::string_view n = work.back();
    work.pop_back();
    for (const Ref& ref : all[n])
      for (const auto& d : ref.record->depends) reach(d);
  }
  // Virtual packages are always available (constrains may refer to them).
  for (const auto& r : input_.virtual_packages) reachable.insert(r.name);

  std::vector<std::string_view> names(reachable.begin(), reachable.end());
  std::sort(names.begin(), names.end());
  for (std::string_view n : names) {
    auto& refs = all[n];
    std::vector<std::size_t>& list = by_name_[n];
    int top = -1;
    for (const Ref& ref : refs) {
      auto v = Version::parse(ref.record->version);
      if (!v) {
        ++bad_versions_;
        continue;
      }
      Candidate c{.record = ref.record,
                  .repodata = ref.repodata,
                  .channel = ref.channel,
                  .version = std::move(*v),
                  .track_features = count_features(ref.record->track_features)};
      if (ref.channel >= 0 && (top < 0 || ref.channel < top)) top = ref.channel;
      list.push_back(candidates_.size());
      candidates_.push_back(std::move(c));
    }
    top_channel_[n] = top < 0 ? 0 : top;
  }
  return {};
}

const std::vector<std::pair<std::string_view, const Version*>>& LibsolvSolve::dependency_best(
    std::size_t ci) {
  auto found = dependency_best_.find(ci);
  if (found != dependency_best_.end()) return found->second;
  std::vector<std::pair<std::string_view, const Version*>> out;
  for (const auto& d : candidates_[ci].record->depends) {
    std::string_view name = detail::spec_package_name(d);
    auto list = by_version_.find(name);
    if (name.empty() || list == by_version_.end()) continue;
    auto cached = best_for_dep_.find(d);
    if (cached == best_for_dep_.end()) {
      const Version* best = nullptr;
      if (auto spec = MatchSpec::parse(d)) {
        for (std::size_t i : list->second)
          if (matches(*spec, candidates_[i])) {
            best = &candidates_[i].version;
            break;
          }
      }
      cached = best_for_dep_.emplace(d, best).first;
    }
    if (cached->second) out.emplace_back(list->first, cached->second);
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return dependency_best_.emplace(ci, std::move(out)).first->second;
}

int LibsolvSolve::compare_dependencies(std::size_t a, std::size_t b) {
  const auto& da = dependency_best(a);
  const auto& db = dependency_best(b);
  int score = 0;
  for (std::size_t i = 0, j = 0; i < da.size() && j < db.size();) {
    if (da[i].first < db[j].first) {
      ++i;
    } else if (db[j].first < da[i].first) {
      ++j;
    } else {
      auto c = *da[i].second <=> *db[j].second;
      score += c > 0 ? 1 : c < 0 ? -1 : 0;
      ++i, ++j;
    }
  }
  return score;
}

Status LibsolvSolve::add_solvables() {
  ::Pool* pool = pool_.get();
  ::Repo* repo = repo_create(pool, "channels");
  ::Repo* virtual_repo = repo_create(pool, "virtual");
  // The target's virtual packages are "installed": present whether or not something needs them,
  // so that `constrains` on them (cuda-version constrains __cuda) always apply.
  pool_set_installed(pool, virtual_repo);
  ns_depends_ = pool_str2id(pool, "conda:depends", 1);
  ns_constrains_ = pool_str2id(pool, "conda:constrains", 1);
  bool flexible = input_.channel_priority == ChannelPriority::Flexible;

  for (const auto& [name, list] : by_name_) {
    auto& v = by_version_[name];
    v = list;
    std::stable_sort(v.begin(), v.end(), [&](std::size_t x, std::size_t y) {
      return candidates_[x].version > candidates_[y].version;
    });
  }
  // Rank every name's records: sort worst first, rank = position + 1.
  for (auto& [name, list] : by_name_) {
    std::sort(list.begin(), list.end(), [&](std::size_t ia, std::size_t ib) {
      const Candidate& a = candidates_[ia];
      const Candidate& b = candidates_[ib];
      if (flexible && a.channel != b.channel) return a.channel > b.channel;  // lower index wins
      if (a.track_features != b.track_features) return a.track_features > b.track_features;
      if (auto c = a.version <=> b.version; c != 0) return c < 0;
      if (a.record->build_number != b.record->build_number)
        return a.record->build_number < b.record->build_number;
      if (!a.record->depends.empty() && !b.record->depends.empty())
        if (int d = compare_dependencies(ia, ib); d != 0) return d < 0;
      // Otherwise equal: the platform build before the noarch one (conda's rule).
      bool na = a.record->subdir == "noarch", nb = b.record->subdir == "noarch";
      if (na != nb) return na;
      auto ta = a.record->timestamp_seconds().value_or(0);
      auto tb = b.record->timestamp_seconds().value_or(0);
      if (ta != tb) return ta < tb;
      if (a.channel != b.channel) return a.channel > b.channel;
      if (a.record->build != b.record->build) return a.record->build > b.record->build;
      return a.record->subdir > b.record->subdir;
    });
    Id name_id = pool_strn2id(pool, name.data(), static_cast<unsigned>(name.size()), 1);
    for (std::size_t rank = 0; rank < list.size(); ++rank) {
      Candidate& c = candidates_[list[rank]];
      ::Repo* target = c.channel < 0 ? virtual_repo : repo;
      Id p = repo_add_solvable(target);
      ::Solvable* s = pool_id2solvable(pool, p);
      s->name = name_id;
      s->evr = pool_str2id(pool, std::to_string(rank + 1).c_str(), 1);
      s->arch = ARCH_NOARCH;
      s->provides =
          repo_addid_dep(target, s->provides, pool_rel2id(pool, s->name, s->evr, REL_EQ, 1), 0);
      c.solvable = p;
      if (solvable_to_candidate_.size() <= static_cast<std::size_t>(p))
        solvable_to_candidate_.resize(p + 1, SIZE_MAX);
      solvable_to_candidate_[p] = list[rank];
    }
  }
  // Dependencies (after every solvable exists, so that ids are stable).
  for (auto& c : candidates_) {
    if (c.solvable == 0) continue;
    ::Solvable* s = pool_id2solvable(pool, c.solvable);
    ::Repo* target = s->repo;
    for (const auto& d : c.record->depends) {
      Id dep = DE_TRY(dep_for(d, false));
      s->requires_ = repo_addid_dep(target, s->requires_, dep, 0);
    }
    for (const auto& d : c.record->constrains) {
      Id dep = DE_TRY(dep_for(d, true));
      s->conflicts = repo_addid_dep(target, s->conflicts, dep, 0);
    }
  }
  return {};
}

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

namespace {
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
    bool hidden = input_.channel_priority == ChannelPriority::Strict && c->channel >= 0 &&
                  c->channel != top;
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
    out += fmt::format("; {} has {} too, not considered under strict channel priority because {} "
                       "has {} (use --channel-priority flexible, or ask for {}::{})",
                       input_.channels[static_cast<std::size_t>(ci)].channel, version_list(cs),
                       top_name, name, input_.channels[static_cast<std::size_t>(ci)].channel, name);
  return out;
}

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

}  // namespace

std::unique_ptr<Solver> make_libsolv_solver(const SolverOptions& options) {
  class LibsolvSolver final : public Solver {
   public:
    explicit LibsolvSolver(SolverOptions o) : options_(std::move(o)) {}
    Result<SolveOutcome> solve(const SolveInput& input) override {
      LibsolvSolve s(input);
      return s.run();
    }

   private:
    SolverOptions options_;
  };
  return std::make_unique<LibsolvSolver>(options);
}

}  // namespace de::conda
