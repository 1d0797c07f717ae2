// The database of a libsolv solve: the records reachable from the request become candidates,
// ranked by conda's preference, then solvables (EVR = rank) with namespace dependencies.
#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "conda/solver_internal.hpp"
#include "conda/solver_libsolv.hpp"

namespace de::conda::libsolv {

namespace {

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

}  // namespace

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

}  // namespace de::conda::libsolv
