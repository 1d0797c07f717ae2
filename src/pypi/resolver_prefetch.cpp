#include "pypi/resolver_prefetch.hpp"

#include "pypi/resolver_candidates.hpp"

namespace de::pypi::detail {

namespace {

// The candidate the search would try first for `w`: the newest version that fits its
// specifiers, not yanked, pre-releases only when allowed or when nothing else fits.
const Candidate* first_candidate(const ProjectCandidates& project, const WantedProject& w,
                                 bool allow_prereleases) {
  bool pre = allow_prereleases || w.spec.names_prerelease();
  for (bool with_pre : {pre, true}) {
    for (const auto& c : project.candidates)
      if (!c.file.yanked && w.spec.contains(c.version, with_pre)) return &c;
    if (pre) break;
  }
  return nullptr;
}

void merge(std::map<std::string, WantedProject>& into, std::vector<std::string>& order,
           const WantedProject& w) {
  auto [it, added] = into.emplace(w.name, w);
  if (added) {
    order.push_back(w.name);
    return;
  }
  it->second.spec = it->second.spec.intersect(w.spec);
  it->second.extras.insert(w.extras.begin(), w.extras.end());
}

}  // namespace

void Prefetcher::run(const std::vector<WantedProject>& wanted) {
  // Everything known about each name so far (the guesses read the specifiers of all of it).
  std::map<std::string, WantedProject> known;
  std::vector<std::string> order;
  for (const auto& w : wanted) merge(known, order, w);
  std::vector<std::string> level;
  for (const auto& name : order)
    if (!installed_.contains(name) && !names_seen_.contains(name)) level.push_back(name);

  while (!level.empty()) {
    for (const auto& name : level) names_seen_.insert(name);
    auto pages = fetch_each<std::vector<DistributionFile>>(
        level.size(), threads_, [&](std::size_t i, const Cancellation& cancel) {
          return source_.project_files(level[i], &cancel);
        });
    std::vector<const DistributionFile*> files;
    std::vector<std::string> file_of;  // the name each file is the first candidate of
    std::vector<ProjectCandidates> projects;
    projects.reserve(level.size());
    for (std::size_t i = 0; i < level.size(); ++i) {
      if (!pages[i]) {
        names_seen_.erase(level[i]);  // cancelled: the search asks for it if it needs it
        continue;
      }
      bool ok = pages[i]->has_value();
      if (ok) {
        projects.push_back(group_candidates(level[i], **pages[i], target_));
        const Candidate* c = first_candidate(projects.back(), known.at(level[i]),
                                             allow_prereleases_);
        if (c && urls_seen_.insert(c->file.url).second) {
          files.push_back(&c->file);
          file_of.push_back(level[i]);
        }
      }
      pages_.insert_or_assign(level[i], std::move(*pages[i]));
    }
    auto metadata = fetch_each<CoreMetadata>(
        files.size(), threads_, [&](std::size_t i, const Cancellation& cancel) {
          return source_.file_metadata(*files[i], &cancel);
        });
    std::vector<std::string> next;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (!metadata[i]) {
        urls_seen_.erase(files[i]->url);
        continue;
      }
      if (*metadata[i]) {
        const auto& extras = known.at(file_of[i]).extras;
        for (const auto& r : (*metadata[i])->requires_dist) {
          bool applies = r.applies(target_.markers);
          for (const auto& e : extras)
            applies = applies || (r.marker && r.marker->mentions_extra() &&
                                  r.marker->evaluate(target_.markers, e));
          if (!applies || !r.url.empty()) continue;
          std::size_t before = order.size();
          merge(known, order, WantedProject{
                                  .name = r.key(),
                                  .spec = r.specifiers,
                                  .extras = {r.extras.begin(), r.extras.end()}});
          if (order.size() > before && !installed_.contains(r.key()) &&
              !names_seen_.contains(r.key()))
            next.push_back(r.key());
        }
      }
      metadata_.insert_or_assign(files[i]->url, std::move(*metadata[i]));
    }
    level = std::move(next);
  }
}

std::optional<Result<std::vector<DistributionFile>>> Prefetcher::take_page(const std::string& name) {
  auto it = pages_.find(name);
  if (it == pages_.end()) return std::nullopt;
  auto out = std::move(it->second);
  pages_.erase(it);
  return out;
}

std::optional<Result<CoreMetadata>> Prefetcher::take_metadata(const std::string& url) {
  auto it = metadata_.find(url);
  if (it == metadata_.end()) return std::nullopt;
  auto out = std::move(it->second);
  metadata_.erase(it);
  return out;
}

}  // namespace de::pypi::detail
