#include "docker_envs/pypi/resolver.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "docker_envs/base/redact.hpp"
#include "pypi/resolver_candidates.hpp"
#include "pypi/resolver_prefetch.hpp"

namespace de::pypi {

namespace {

using detail::Candidate;
using detail::ProjectCandidates;

// One requirement on one node: a distribution ("six") or one of its extras ("requests[socks]").
struct Constraint {
  std::string node;
  std::string name;  // normalised
  SpecifierSet spec;
  std::string url;
  std::string from;  // "the request" or "foo 1.0"
  std::string text;  // the requirement as written
};

struct Pin {
  Candidate candidate;
  bool installed = false;  // by conda
};

std::string node_key(const std::string& name, const std::string& extra) {
  return extra.empty() ? name : name + "[" + extra + "]";
}

std::string node_extra(const std::string& node) {
  std::size_t open = node.find('[');
  return open == std::string::npos ? std::string() : node.substr(open + 1, node.size() - open - 2);
}

class Resolver {
 public:
  Resolver(const ResolveRequest& request, const Target& target, DistributionSource& source)
      : request_(request), target_(target), source_(source) {
    if (request.fetch_threads > 1)
      prefetcher_.emplace(source, target, request.installed, request.allow_prereleases,
                          request.fetch_threads);
  }

  Result<ResolveOutcome> run() {
    for (const auto& r : request_.requirements) {
      if (!r.applies(target_.markers)) continue;
      requested_.insert(r.key());
      add_constraints(r, "the request");
    }
    bool ok = DE_TRY(step());
    if (!ok) {
      std::string text = fmt::format(
          "cannot resolve the PyPI requirements for Python {} ({}) on {}:\n{}",
          target_.markers.python_full_version, target_.markers.implementation_name,
          target_.markers.platform_machine, failure_.empty() ? "no solution" : failure_);
      return ResolveOutcome(Unresolvable{std::move(text)});
    }
    return ResolveOutcome(DE_TRY(resolution()));
  }

 private:
  void add_constraints(const Requirement& r, const std::string& from) {
    std::string name = r.key();
    std::string text = r.to_string();
    constraints_.push_back(Constraint{name, name, r.specifiers, r.url, from, text});
    for (const auto& e : r.extras)
      constraints_.push_back(Constraint{node_key(name, e), name, r.specifiers, r.url, from, text});
  }

  // The first node with constraints and no pin, in the order the constraints came.
  std::optional<std::string> next_node() const {
    for (const auto& c : constraints_)
      if (!pins_.contains(c.node)) return c.node;
    return std::nullopt;
  }

  std::vector<const Constraint*> constraints_on(const std::string& name) const {
    std::vector<const Constraint*> out;
    for (const auto& c : constraints_)
      if (c.name == name) out.push_back(&c);
    return out;
  }

  std::optional<Version> pinned_version(const std::string& name) const {
    for (const auto& [node, p] : pins_)
      if (p.candidate.name == name) return p.candidate.version;
    return std::nullopt;
  }

  void record_failure(std::string why) {
    if (failure_.empty() || pins_.size() > failure_depth_) {
      failure_ = std::move(why);
      failure_depth_ = pins_.size();
    }
  }

  static std::string describe(const std::vector<const Constraint*>& cs) {
    std::string out;
    for (const auto* c : cs) {
      if (!out.empty()) out += "; ";
      out += fmt::format("'{}' from {}", c->text, c->from);
    }
    return out;
  }

  Result<std::vector<Candidate>> candidates(const std::string& name) {
    auto cs = constraints_on(name);
    if (auto it = request_.installed.find(name); it != request_.installed.end()) {
      for (const auto* c : cs) {
        if (!c->url.empty() || !c->spec.matches(it->second)) {
          record_failure(fmt::format(
              "{} {} is installed by the conda packages, which does not satisfy '{}' from {}", name,
              it->second.to_string(), c->text, c->from));
          return std::vector<Candidate>{};
        }
      }
      return std::vector<Candidate>{Candidate{.name = name, .version = it->second}};
    }
    const ProjectCandidates* project = nullptr;
    std::string url;
    for (const auto* c : cs) {
      if (c->url.empty()) continue;
      if (!url.empty() && url != c->url) {
        record_failure(fmt::format("{} is required from two different URLs: {}", name,
                                   describe(cs)));
        return std::vector<Candidate>{};
      }
      url = c->url;
    }
    if (url.empty())
      project = DE_TRY(project_candidates(name));
    else
      project = DE_TRY(url_candidate(name, url));
    SpecifierSet combined;
    for (const auto* c : cs) combined = combined.intersect(c->spec);
    auto pinned = pinned_version(name);
    auto exact_pin = [&](const Version& v) {
      for (const auto* c : cs)
        for (const auto& s : c->spec.specifiers())
          if ((s.op() == Specifier::Op::Equal && !s.wildcard()) ||
              s.op() == Specifier::Op::Arbitrary)
            if (s.matches(v)) return true;
      return false;
    };
    bool allow_pre = request_.allow_prereleases || combined.names_prerelease();
    auto select = [&](bool pre) {
      std::vector<Candidate> out;
      for (const auto& cand : project->candidates) {
        if (pinned && cand.version != *pinned) continue;
        if (!url.empty() ? !combined.matches(cand.version) : !combined.contains(cand.version, pre))
          continue;
        if (cand.file.yanked && !exact_pin(cand.version)) continue;
        out.push_back(cand);
      }
      return out;
    };
    auto out = select(allow_pre);
    if (out.empty() && !allow_pre) out = select(true);  // only pre-releases fit
    if (out.empty())
      record_failure(detail::explain_no_candidate(name, *project, combined, describe(cs),
                                                  pinned, target_));
    return out;
  }

  // Fetches, together, the pages of every name required so far that the search has not read
  // (and what they lead to: see resolver_prefetch.hpp).
  void prefetch() {
    std::vector<detail::WantedProject> wanted;
    for (const auto& c : constraints_) {
      if (!c.url.empty() || projects_.contains(c.name)) continue;
      detail::WantedProject w{.name = c.name, .spec = c.spec, .extras = {}};
      if (std::string extra = node_extra(c.node); !extra.empty()) w.extras.insert(extra);
      wanted.push_back(std::move(w));
    }
    prefetcher_->run(wanted);
  }

  Result<std::vector<DistributionFile>> fetch_project_files(const std::string& name) {
    if (prefetcher_) {
      auto page = prefetcher_->take_page(name);
      if (!page) {
        prefetch();
        page = prefetcher_->take_page(name);
      }
      if (page) return std::move(*page);
    }
    return source_.project_files(name);
  }

  Result<const ProjectCandidates*> project_candidates(const std::string& name) {
    auto it = projects_.find(name);
    if (it == projects_.end()) {
      auto files = DE_TRY_CTX(fetch_project_files(name),
                              fmt::format("looking up the PyPI project '{}'", name));
      it = projects_.emplace(name, detail::group_candidates(name, files, target_)).first;
    }
    return &it->second;
  }

  Result<CoreMetadata> fetch_metadata(const DistributionFile& file) {
    if (prefetcher_)
      if (auto m = prefetcher_->take_metadata(file.url)) return std::move(*m);
    return source_.file_metadata(file);
  }

  Result<const ProjectCandidates*> url_candidate(const std::string& name, const std::string& url) {
    std::string key = name + " @ " + url;
    auto it = projects_.find(key);
    if (it == projects_.end())
      it = projects_.emplace(key, DE_TRY(detail::direct_url_candidates(name, url, target_))).first;
    return &it->second;
  }

  Result<const CoreMetadata*> metadata(const Candidate& c) {
    auto it = metadata_.find(c.file.url);
    if (it == metadata_.end()) {
      auto m = DE_TRY_CTX(fetch_metadata(c.file),
                          fmt::format("reading the metadata of {}", c.file.filename));
      if (normalize_name(m.name) != c.name || m.version != c.version)
        return fail(Code::Corruption, "{}: the metadata describes {} {}", c.file.filename, m.name,
                    m.version.to_string());
      it = metadata_.emplace(c.file.url, std::move(m)).first;
    }
    return &it->second;
  }

  // Pins `node` to `cand` and adds its requirements; false (nothing added) when they contradict a
  // pin already made or the metadata's Requires-Python.
  Result<bool> pin(const std::string& node, const Candidate& cand, bool installed) {
    pins_.emplace(node, Pin{cand, installed});
    if (installed) return true;
    const CoreMetadata* m = DE_TRY(metadata(cand));
    std::string from = fmt::format("{} {}", m->name, cand.version.to_string());
    if (m->requires_python && !m->requires_python->contains(target_.python, true)) {
      record_failure(fmt::format("{} requires Python {} (the image has {})", from,
                                 m->requires_python->to_string(), target_.python.to_string()));
      return false;
    }
    std::string extra = node_extra(node);
    if (!extra.empty())  // the extra's distribution itself, at the same version
      constraints_.push_back(Constraint{cand.name, cand.name, SpecifierSet{}, {}, from, cand.name});
    for (const auto& r : m->requires_dist) {
      bool applies = extra.empty() ? r.applies(target_.markers)
                                   : r.marker && r.marker->mentions_extra() &&
                                         r.marker->evaluate(target_.markers, extra);
      if (!applies) continue;
      std::size_t first = constraints_.size();
      add_constraints(r, from);
      for (std::size_t i = first; i < constraints_.size(); ++i) {
        const Constraint& c = constraints_[i];
        auto v = pinned_version(c.name);
        if (v && !c.spec.matches(*v)) {
          record_failure(fmt::format("{} requires '{}', but {} {} was chosen ({})", from, c.text,
                                     c.name, v->to_string(), describe(constraints_on(c.name))));
          return false;
        }
      }
    }
    return true;
  }

  Result<bool> step() {
    auto node = next_node();
    if (!node) return true;
    std::string name = node->substr(0, node->find('['));
    auto cands = DE_TRY(candidates(name));
    bool installed = request_.installed.contains(name);
    for (const auto& cand : cands) {
      if (++attempts_ > request_.max_attempts)
        return fail(Code::Unsatisfiable,
                    "resolving the PyPI requirements took more than {} attempts; pin some "
                    "versions to narrow the search",
                    request_.max_attempts);
      std::size_t mark = constraints_.size();
      bool ok = DE_TRY(pin(*node, cand, installed));
      if (ok && DE_TRY(step())) return true;
      constraints_.resize(mark);
      pins_.erase(*node);
    }
    return false;
  }

  Result<Resolution> resolution() {
    std::map<std::string, ResolvedDistribution> by_name;
    for (const auto& [node, p] : pins_) {
      if (p.installed) continue;
      auto& d = by_name[p.candidate.name];
      std::string extra = node_extra(node);
      if (!extra.empty()) {
        d.extras.push_back(extra);
        continue;
      }
      const CoreMetadata* m = DE_TRY(metadata(p.candidate));
      d.name = m->name;
      d.version = p.candidate.version;
      d.file = p.candidate.file;
      d.requested = requested_.contains(p.candidate.name);
      d.requires_dist = m->requires_dist;
    }
    Resolution out;
    for (auto& [name, d] : by_name) {
      std::sort(d.extras.begin(), d.extras.end());
      out.distributions.push_back(std::move(d));
    }
    return out;
  }

  const ResolveRequest& request_;
  const Target& target_;
  DistributionSource& source_;
  std::vector<Constraint> constraints_;
  std::map<std::string, Pin> pins_;
  std::set<std::string> requested_;
  std::map<std::string, ProjectCandidates> projects_;
  std::map<std::string, CoreMetadata> metadata_;
  std::optional<detail::Prefetcher> prefetcher_;  // with fetch_threads > 1
  std::size_t attempts_ = 0;
  std::string failure_;
  std::size_t failure_depth_ = 0;
};

}  // namespace

Result<ResolveOutcome> resolve(const ResolveRequest& request, const Target& target,
                               DistributionSource& source) {
  return Resolver(request, target, source).run();
}

}  // namespace de::pypi
