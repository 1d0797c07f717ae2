#include "pypi/resolver_candidates.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "docker_envs/base/redact.hpp"
#include "pypi/simple_internal.hpp"

namespace de::pypi::detail {

namespace {

// Whether `a` is the better file for its version than `b`.
bool better(const Candidate& a, const Candidate& b) {
  if (a.file.yanked != b.file.yanked) return !a.file.yanked;
  if (a.priority != b.priority) return a.priority < b.priority;
  return a.build > b.build;
}

template <class Range>
std::string version_list(const Range& versions, std::size_t max = 10) {
  std::string out;
  std::size_t n = 0;
  for (const auto& v : versions) {
    if (n == max) {
      out += ", ...";
      break;
    }
    if (n++) out += ", ";
    out += v.to_string();
  }
  return out;
}

}  // namespace

ProjectCandidates group_candidates(const std::string& name,
                                   const std::vector<DistributionFile>& files,
                                   const Target& target) {
  ProjectCandidates out;
  std::map<Version, Candidate, std::greater<>> best;
  std::set<Version> sdists;
  for (const auto& f : files) {
    auto w = WheelFilename::parse(f.filename);
    if (!w) {
      if (auto s = SdistFilename::parse(f.filename, name)) sdists.insert(s->version);
      continue;
    }
    if (normalize_name(w->name) != name) continue;
    auto priority = w->priority(target.tags);
    if (!priority) {
      auto& tags = out.incompatible[w->version];
      if (tags.size() < 3)
        for (const auto& t : w->tags()) tags.insert(t.to_string());
      continue;
    }
    if (f.requires_python && !f.requires_python->contains(target.python, true)) {
      out.wrong_python[w->version] = f.requires_python_text;
      continue;
    }
    Candidate c{.name = name, .version = w->version, .file = f, .priority = *priority,
                .build = w->build};
    auto it = best.find(w->version);
    if (it == best.end())
      best.emplace(w->version, std::move(c));
    else if (better(c, it->second))
      it->second = std::move(c);
  }
  for (auto& [v, c] : best) out.candidates.push_back(std::move(c));
  for (const auto& v : sdists)
    if (!best.contains(v)) out.sdist_only.insert(v);
  for (const auto& entry : best) {
    out.incompatible.erase(entry.first);
    out.wrong_python.erase(entry.first);
  }
  return out;
}

Result<ProjectCandidates> direct_url_candidates(const std::string& name, const std::string& url,
                                                const Target& target) {
  DistributionFile file;
  if (!set_link(file, url, url))
    return fail(Code::InvalidArgument, "'{} @ {}': the URL names no file", name, redact_url(url));
  auto w = WheelFilename::parse(file.filename);
  if (!w) {
    if (is_sdist_filename(file.filename))
      return fail(Code::Unsupported,
                  "'{} @ {}' is a source distribution: building it needs a build backend, and "
                  "docker-envs installs wheels only",
                  name, redact_url(url));
    return std::unexpected(std::move(w.error()).add_context(
        fmt::format("'{} @ {}'", name, redact_url(url))));
  }
  if (normalize_name(w->name) != name)
    return fail(Code::InvalidArgument, "'{} @ {}': the wheel is of '{}'", name, redact_url(url),
                w->name);
  auto priority = w->priority(target.tags);
  if (!priority)
    return fail(Code::Unsupported, "'{} @ {}': the wheel is not for Python {} on {} (tags {})",
                name, redact_url(url), target.markers.python_version,
                target.markers.platform_machine, file.filename);
  ProjectCandidates out;
  out.candidates.push_back(Candidate{.name = name, .version = w->version, .file = file,
                                     .priority = *priority, .build = w->build});
  return out;
}

std::string explain_no_candidate(const std::string& name, const ProjectCandidates& project,
                                 const SpecifierSet& combined, const std::string& required_by,
                                 const std::optional<Version>& pinned, const Target& target) {
  std::string out = fmt::format("no version of {} satisfies {}", name, required_by);
  if (pinned) out += fmt::format(" ({} {} is already chosen)", name, pinned->to_string());
  out += "\n";
  std::vector<Version> usable;
  for (const auto& c : project.candidates) usable.push_back(c.version);
  if (!usable.empty())
    out += fmt::format("  versions with a compatible wheel: {}\n", version_list(usable));
  std::vector<Version> matching_sdists;
  for (auto it = project.sdist_only.rbegin(); it != project.sdist_only.rend(); ++it)
    if (combined.matches(*it)) matching_sdists.push_back(*it);
  if (!matching_sdists.empty())
    out += fmt::format(
        "  {} {} only as source distributions: building them needs a build backend, and "
        "docker-envs installs wheels only\n",
        name, version_list(matching_sdists));
  if (!project.incompatible.empty()) {
    auto newest = project.incompatible.rbegin();
    out += fmt::format("  only wheels for other platforms or Pythons: {} {} ({})\n", name,
                       newest->first.to_string(), fmt::join(newest->second, ", "));
  }
  for (auto it = project.wrong_python.rbegin(); it != project.wrong_python.rend(); ++it) {
    out += fmt::format("  {} {} requires Python {} (the image has {})\n", name,
                       it->first.to_string(), it->second, target.python.to_string());
    break;  // the newest one tells enough
  }
  if (usable.empty() && project.sdist_only.empty() && project.incompatible.empty() &&
      project.wrong_python.empty())
    out += fmt::format("  the indexes have no files for {}\n", name);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace de::pypi::detail
