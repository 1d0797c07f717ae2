// resolve_pip_section(): an environment.yml's pip items -> wheels for the image (pip_section.hpp).
#include "docker_envs/build/pip_section.hpp"

#include <fmt/ranges.h>

#include <set>

#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/pip_requirements.hpp"
#include "docker_envs/pypi/resolve_image.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::build {

namespace fs = std::filesystem;

namespace {

bool depends_on_python(const conda::PackageRecord& r) {
  for (const auto& d : r.depends) {
    std::string_view name = std::string_view(d).substr(0, d.find_first_of(" =<>!~["));
    if (name == "python") return true;
  }
  return false;
}

std::string glibc_of(const std::string& platform, const conda::VirtualPackageOverrides& v) {
  auto packages = conda::virtual_packages(platform, v);
  if (packages)
    for (const auto& p : *packages)
      if (p.name == "__glibc") return p.version;
  return "";
}

// The requirements of `dist` that apply to the image (its extras' included), as "name spec".
std::vector<std::string> applicable_dependencies(const pypi::ResolvedDistribution& dist,
                                                 const pypi::Target& target) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& r : dist.requires_dist) {
    bool applies = r.applies(target.markers);
    for (const auto& extra : dist.extras) applies = applies || r.applies(target.markers, extra);
    if (!applies) continue;
    std::string spec = r.url.empty() ? r.specifiers.to_string() : "@ " + redact_url(r.url);
    std::string text = r.key() + " " + (spec.empty() ? "*" : spec);
    if (seen.insert(text).second) out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

std::vector<std::string> conda_dist_infos(std::span<const conda::PackageRecord> packages) {
  std::vector<std::string> out;
  for (const auto& r : packages)
    if (r.name != "python" && !conda::is_virtual_package(r.name) && depends_on_python(r))
      out.push_back(fmt::format("{}-{}.dist-info", r.name, r.version));
  return out;
}

std::vector<bool> requested_roots(std::span<const conda::PypiLockEntry> entries) {
  std::set<std::string> needed;
  for (const auto& e : entries)
    for (const auto& d : e.requires_dist) {
      std::string name = d.substr(0, d.find_first_of(" ;[(<>=!~@"));
      if (pypi::normalize_name(name) != pypi::normalize_name(e.name))
        needed.insert(pypi::normalize_name(name));
    }
  std::vector<bool> out;
  for (const auto& e : entries) out.push_back(!needed.contains(pypi::normalize_name(e.name)));
  return out;
}

Result<ResolvedPip> resolve_pip_section(const conda::EnvironmentSpec& spec,
                                        std::span<const conda::PackageRecord> packages,
                                        const std::string& platform,
                                        const conda::VirtualPackageOverrides& virtuals,
                                        const PipSectionOptions& options) {
  ResolvedPip out;
  if (spec.pip.empty()) return out;
  const std::string file = spec.file.empty() ? std::string("environment.yml") : spec.file.string();
  std::vector<pypi::PipLine> lines;
  for (const auto& item : spec.pip)
    lines.push_back({item.text, item.line > 0 ? fmt::format("{}:{}", file, item.line) : file});
  fs::path base_dir = spec.file.empty() ? fs::current_path() : fs::absolute(spec.file).parent_path();
  auto pip = DE_TRY(pypi::read_pip_lines(lines, {.base_dir = base_dir, .getenv = options.getenv}));
  for (const auto& w : pip.warnings) log::warn("{}", w);
  if (pip.requirements.empty()) return out;
  if (options.offline)
    return fail(Code::InvalidArgument,
                "{}: --offline cannot resolve the pip section (its indexes are on the network); "
                "lock it first (`docker-envs lock {}`) and build from the lock",
                lines.front().where, file);

  const conda::PackageRecord* python = nullptr;
  for (const auto& r : packages)
    if (r.name == "python") python = &r;
  if (!python)
    return fail(Code::InvalidArgument,
                "{}: the pip section needs a python in the environment, and the solve for {} has "
                "none; add `python` to the dependencies",
                lines.front().where, platform);

  pypi::ImageResolveRequest request{
      .target = {.platform = platform,
                 .python_version = python->version,
                 .python_build = python->build,
                 .glibc = glibc_of(platform, virtuals)},
      .requirements = {},
      .sources = pip.sources(),
      .installed_dist_info = conda_dist_infos(packages),
      .allow_prereleases = pip.pre,
      .transport = {.extra_ca_file = options.extra_ca_file, .cache_dir = options.cache_root}};
  for (const auto& r : pip.requirements) request.requirements.push_back(r.text);
  std::vector<std::string> shown_sources;
  for (const auto& u : request.sources.index_urls) shown_sources.push_back(redact_url(u));
  for (const auto& u : request.sources.find_links) shown_sources.push_back(redact_url(u));
  progress::emit(options.reporter,
                 {.kind = progress::Kind::StageStart,
                  .stage = "pypi",
                  .detail = fmt::format("{} pip requirement(s) for python {} on {} from {}",
                                        request.requirements.size(), python->version, platform,
                                        fmt::join(shown_sources, ", "))});
  auto outcome = pypi::resolve_for_image(request);
  if (!outcome) {
    // Name the line of a requirement that does not parse (resolve_for_image numbers them).
    return std::unexpected(std::move(outcome).error().add_context(
        fmt::format("resolving the pip section of {} for {}", file, platform)));
  }
  if (auto* unresolvable = std::get_if<pypi::Unresolvable>(&*outcome))
    return fail(Code::Unsatisfiable, "the pip section of {} cannot be resolved for {}:\n{}", file,
                platform, unresolvable->explanation);
  const auto& resolution = std::get<pypi::Resolution>(*outcome);
  auto target = DE_TRY(pypi::Target::for_image(request.target));

  std::set<std::string> by_url;  // distributions named by a direct URL requirement
  for (const auto& r : pip.requirements)
    if (auto parsed = pypi::Requirement::parse(r.text); parsed && !parsed->url.empty())
      by_url.insert(parsed->key());
  for (const auto& d : resolution.distributions) {
    Digest sha = DE_TRY_CTX(pypi::distribution_sha256(d.file),
                            fmt::format("pypi package {} {}", d.name, d.version.to_string()));
    conda::PypiLockEntry entry{.name = d.name,
                               .version = d.version.to_string(),
                               .location = d.file.url,
                               .url = d.file.url,
                               .sha256 = sha,
                               .direct = by_url.contains(pypi::normalize_name(d.name))};
    entry.requires_dist = applicable_dependencies(d, target);
    out.lock_entries.push_back(std::move(entry));
    out.wheels.push_back({.name = d.name,
                          .version = d.version.to_string(),
                          .url = d.file.url,
                          .sha256 = sha,
                          .requested = false,
                          .direct_url = by_url.contains(pypi::normalize_name(d.name))});
  }
  auto roots = requested_roots(out.lock_entries);
  for (std::size_t i = 0; i < roots.size(); ++i) out.wheels[i].requested = roots[i];
  std::vector<std::string> names;
  for (const auto& w : out.wheels) names.push_back(w.name + "-" + w.version);
  progress::emit(options.reporter,
                 {.kind = progress::Kind::StageEnd,
                  .stage = "pypi",
                  .detail = fmt::format("{} pypi package(s) for {}: {}", names.size(), platform,
                                        fmt::join(names, ", "))});
  return out;
}

}  // namespace de::build
