// The namespace callback of a libsolv solve: the solvables a match spec (a `depends` or a
// requested spec) selects, or for a `constrains` entry the records of that name it excludes.
#include "conda/solver_libsolv.hpp"

namespace de::conda::libsolv {

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

}  // namespace de::conda::libsolv
