// pixi lock files (`pixi.lock`, rattler_lock format versions 4 to 7) into the lock model.
//
// The document: `version`, (7) `platforms` (name, subdir, virtual-packages), `environments`
// (name -> channels, indexes, find-links, packages: platform -> list of selectors) and `packages`
// (the package descriptions). Versions 4 and 5 tag each description with `kind: conda | pypi`
// and give it a `url` (pypi: `url` or `path`); from version 6 a description is keyed by
// `conda: LOCATION` / `pypi: LOCATION` (7 adds `conda_source:`), and a conda package's name,
// version and build default to its file name's. Environment selectors name a description by its
// location; several descriptions of one location are told apart by the selector's name, version,
// build and subdir, then by the platform's subdir.
#include <fmt/ranges.h>

#include <map>

#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "lock_yaml.hpp"

namespace de::conda::detail {

namespace {

namespace fs = std::filesystem;

struct Descriptions {
  std::vector<LockedPackage> conda;
  std::multimap<std::string, std::size_t> conda_at;  // location -> index
  std::vector<PypiLockEntry> pypi;
  std::map<std::string, std::size_t> pypi_at;
};

bool is_url(std::string_view location) { return location.find("://") != std::string_view::npos; }

std::string_view file_name_of(std::string_view location) {
  while (!location.empty() && location.back() == '/') location.remove_suffix(1);
  auto slash = location.rfind('/');
  return slash == std::string_view::npos ? location : location.substr(slash + 1);
}

// A package path from the lock, as a file:// URL below `base_dir`; it may not leave it.
Result<std::string> path_url(std::string_view location, const fs::path& base_dir,
                             std::string_view at) {
  fs::path rel(location);
  fs::path normal = rel.lexically_normal();
  if (rel.is_absolute() || normal.empty() || *normal.begin() == ".." ||
      location.find('\0') != std::string_view::npos)
    return fail(Code::InvalidArgument,
                "{}: package path '{}' leaves the lock file's directory (paths are relative to it "
                "and may not start with '..' or '/')",
                at, location);
  std::error_code ec;
  fs::path dir = fs::absolute(base_dir, ec);
  if (ec) return fail(Code::InvalidArgument, "{}: {}: {}", at, base_dir.string(), ec.message());
  return path_to_file_url((dir / normal).lexically_normal());
}

// The name of a v7 `conda_source:` location "name[hash] @ path".
std::string source_name(std::string_view location) {
  auto end = location.find_first_of("[ @");
  return std::string(location.substr(0, end));
}

// Fields a description may give besides its location (every version).
Status read_record_fields(const YAML::Node& e, std::string_view what, std::string_view at,
                          PackageRecord& r) {
  std::string who = "package " + (r.name.empty() ? std::string("?") : r.name);
  if (auto v = optional_scalar(e, "build"); !v.empty()) r.build = v;
  if (auto n = DE_TRY(optional_number(e, "build_number", what)))
    r.build_number = static_cast<std::int64_t>(*n);
  if (auto v = optional_scalar(e, "subdir"); !v.empty()) r.subdir = v;
  if (auto v = optional_scalar(e, "noarch"); !v.empty())
    r.noarch = DE_TRY_CTX(parse_noarch(v), fmt::format("{}: {}: noarch", at, who));
  if (auto v = optional_scalar(e, "channel"); !v.empty()) r.channel = redact_url(v);
  if (auto v = optional_scalar(e, "file_name"); !v.empty()) r.fn = v;
  DE_TRY(read_hashes(e, at, who, r.md5, r.sha256));
  r.depends = DE_TRY(scalar_list(e["depends"], "depends", what));
  r.constrains = DE_TRY(scalar_list(e["constrains"], "constrains", what));
  r.size = DE_TRY(optional_number(e, "size", what));
  if (auto t = DE_TRY(optional_number(e, "timestamp", what)))
    r.timestamp = static_cast<std::int64_t>(*t);
  r.license = optional_scalar(e, "license");
  if (auto tf = scalar_list(e["track_features"], "track_features", what); tf && !tf->empty())
    r.track_features = fmt::format("{}", fmt::join(*tf, ","));
  else if (auto v = optional_scalar(e, "track_features"); !v.empty())
    r.track_features = v;
  r.python_site_packages_path = optional_scalar(e, "python_site_packages_path");
  return {};
}

// A conda description at `location` (URL or path), any version.
Result<LockedPackage> conda_description(const YAML::Node& e, std::string_view location, int version,
                                        std::string_view what, const fs::path& base_dir) {
  std::string at = where(what, e);
  LockedPackage p{.line = line_of(e)};
  PackageRecord& r = p.record;
  std::string_view fn = file_name_of(location);
  bool archive = package_format_of(fn).has_value();
  if (!archive) {
    if (version < 6)
      return fail(Code::InvalidArgument, "{}: '{}' is not a package archive (.conda, .tar.bz2)", at,
                  location);
    // A source package (built by pixi): kept so that consumers can name it.
    p.source = location;
    r.name = optional_scalar(e, "name", source_name(fn));
    r.version = optional_scalar(e, "version");
    DE_TRY(read_record_fields(e, what, at, r));
    return p;
  }
  std::string url =
      is_url(location) ? std::string(location) : DE_TRY(path_url(location, base_dir, at));
  if (auto derived = record_from_url(url)) {
    r = std::move(*derived);
  } else {
    // The file name does not say name-version-build: the description must.
    r.url = url;
    r.fn = fn;
  }
  if (auto v = optional_scalar(e, "name"); !v.empty()) r.name = v;
  if (auto v = optional_scalar(e, "version"); !v.empty()) r.version = v;
  std::string derived_build = r.build;
  DE_TRY(read_record_fields(e, what, at, r));
  if (r.build != derived_build && !e["build_number"]) {
    // The build number is the build string's last '_' part when numeric.
    auto us = r.build.rfind('_');
    std::string num = us == std::string::npos ? r.build : r.build.substr(us + 1);
    r.build_number =
        !num.empty() && num.size() < 10 && num.find_first_not_of("0123456789") == std::string::npos
            ? std::stoll(num)
            : 0;
  }
  if (r.name.empty() || r.version.empty() || r.build.empty())
    return fail(Code::InvalidArgument,
                "{}: cannot tell the name, version and build of '{}' (its file name is not "
                "NAME-VERSION-BUILD and the entry does not give them)",
                at, redact_url(location));
  if (!r.md5 && !r.sha256)
    return fail(Code::InvalidArgument, "{}: package {} has no sha256 or md5", at, r.name);
  if (!is_url(location)) r.channel.clear();  // a local file, no channel
  return p;
}

Result<PypiLockEntry> pypi_description(const YAML::Node& e, std::string location,
                                       std::string_view what, const fs::path& base_dir) {
  std::string at = where(what, e);
  PypiLockEntry p{.location = std::move(location), .line = line_of(e)};
  if (is_url(p.location)) {
    p.url = p.location;
  } else if (auto url = path_url(p.location, base_dir, at)) {
    p.url = std::move(*url);  // else left empty: refused only if it is to be installed
  }
  p.name = DE_TRY_CTX(required_scalar(e, "name", what), "pypi package " + p.location);
  p.version = optional_scalar(e, "version");
  DE_TRY(read_hashes(e, at, "pypi package " + p.name, p.md5, p.sha256));
  p.requires_dist = DE_TRY(scalar_list(e["requires_dist"], "requires_dist", what));
  p.requires_python = optional_scalar(e, "requires_python");
  return p;
}

Result<Descriptions> read_descriptions(const YAML::Node& root, int version, std::string_view what,
                                       const fs::path& base_dir) {
  YAML::Node packages = root["packages"];
  if (!packages || !packages.IsSequence())
    return fail(Code::InvalidArgument, "{}: no 'packages' list", what);
  Descriptions out;
  for (const auto& e : packages) {
    if (!e.IsMap())
      return fail(Code::InvalidArgument, "{}: a package entry must be a mapping", where(what, e));
    std::string at = where(what, e);
    std::string kind, location;
    if (version < 6) {
      kind = DE_TRY(required_scalar(e, "kind", what));
      if (kind == "conda") {
        location = DE_TRY(required_scalar(e, "url", what));
      } else if (kind == "pypi") {
        location = optional_scalar(e, "url", optional_scalar(e, "path"));
        if (location.empty())
          return fail(Code::InvalidArgument, "{}: pypi package entry has no 'url' or 'path'", at);
      } else {
        return fail(Code::Unsupported, "{}: unknown package kind '{}' (expected conda or pypi)", at,
                    kind);
      }
    } else {
      for (const char* key : {"conda", "pypi", "conda_source"})
        if (YAML::Node v = e[key]; v && v.IsScalar()) kind = key, location = v.Scalar();
      if (kind.empty())
        return fail(Code::InvalidArgument,
                    "{}: package entry has neither 'conda' nor 'pypi' (a URL or path)", at);
    }
    if (kind == "pypi") {
      out.pypi_at.emplace(location, out.pypi.size());
      out.pypi.push_back(DE_TRY(pypi_description(e, location, what, base_dir)));
      continue;
    }
    LockedPackage p;
    if (kind == "conda_source") {
      p = LockedPackage{.source = location, .line = line_of(e)};
      p.record.name = optional_scalar(e, "name", source_name(location));
      p.record.version = optional_scalar(e, "version");
      p.record.build = optional_scalar(e, "build");
      p.record.subdir = optional_scalar(e, "subdir");
    } else {
      p = DE_TRY(conda_description(e, location, version, what, base_dir));
      if (version < 6) {
        // Versions 4 and 5 always write the name and version.
        DE_TRY(required_scalar(e, "name", what));
        DE_TRY(required_scalar(e, "version", what));
      }
    }
    out.conda_at.emplace(location, out.conda.size());
    out.conda.push_back(std::move(p));
  }
  return out;
}

// The description an environment's conda selector names.
Result<const LockedPackage*> resolve_conda(const Descriptions& d, const YAML::Node& sel,
                                           const std::string& location,
                                           const LockPlatform& platform, const std::string& env,
                                           std::string_view what) {
  auto [first, last] = d.conda_at.equal_range(location);
  std::vector<const LockedPackage*> candidates;
  for (auto it = first; it != last; ++it) candidates.push_back(&d.conda[it->second]);
  auto keep = [&](auto&& pred) {
    if (candidates.size() < 2) return;
    std::vector<const LockedPackage*> kept;
    for (const auto* c : candidates)
      if (pred(*c)) kept.push_back(c);
    if (!kept.empty()) candidates = std::move(kept);
  };
  for (const char* key : {"name", "version", "build", "subdir"}) {
    std::string want = optional_scalar(sel, key);
    if (want.empty()) continue;
    keep([&](const LockedPackage& c) {
      std::string_view k = key;
      const auto& r = c.record;
      return (k == "name"      ? r.name
              : k == "version" ? r.version
              : k == "build"   ? r.build
                               : r.subdir) == want;
    });
  }
  keep([&](const LockedPackage& c) {
    return c.record.subdir == platform.subdir || c.record.subdir == "noarch";
  });
  if (candidates.empty())
    return fail(Code::InvalidArgument,
                "{}: environment '{}', platform {} names '{}', which the 'packages' list does not "
                "describe",
                where(what, sel), env, platform.name, redact_url(location));
  return candidates.front();
}

Result<LockEnvironment> read_environment(const std::string& name, const YAML::Node& node,
                                         const Descriptions& d,
                                         const std::map<std::string, std::string>& subdirs,
                                         bool declared_platforms, std::string_view what) {
  if (!node.IsMap())
    return fail(Code::InvalidArgument, "{}: environment '{}' must be a mapping", where(what, node),
                name);
  LockEnvironment env{.name = name};
  if (YAML::Node cs = node["channels"]; cs && cs.IsSequence()) {
    for (const auto& c : cs) {
      if (c.IsMap() && c["url"] && c["url"].IsScalar())
        env.channels.push_back(c["url"].Scalar());
      else if (c.IsScalar())
        env.channels.push_back(c.Scalar());
      else
        return fail(Code::InvalidArgument, "{}: a channel must be a URL or {{url: URL}}",
                    where(what, c));
    }
  }
  env.indexes = DE_TRY(scalar_list(node["indexes"], "indexes", what));
  if (YAML::Node links = node["find-links"]; links && links.IsSequence())
    for (const auto& l : links) {
      if (l.IsScalar())
        env.find_links.push_back(l.Scalar());
      else if (l.IsMap())
        env.find_links.push_back(optional_scalar(l, "url", optional_scalar(l, "path")));
    }
  YAML::Node packages = node["packages"];
  if (!packages || packages.IsNull()) return env;
  if (!packages.IsMap())
    return fail(Code::InvalidArgument,
                "{}: environment '{}': 'packages' must map each platform to a list",
                where(what, packages), name);
  for (const auto& kv : packages) {
    std::string platform_name = kv.first.Scalar();
    LockPlatform platform{.name = platform_name, .subdir = platform_name};
    if (auto it = subdirs.find(platform_name); it != subdirs.end()) {
      platform.subdir = it->second;
    } else if (declared_platforms) {
      return fail(Code::InvalidArgument,
                  "{}: environment '{}' uses platform '{}', which 'platforms' does not declare",
                  where(what, kv.first), name, platform_name);
    }
    if (!kv.second.IsSequence())
      return fail(Code::InvalidArgument, "{}: environment '{}', platform {}: expected a list",
                  where(what, kv.second), name, platform_name);
    for (const auto& sel : kv.second) {
      if (!sel.IsMap())
        return fail(Code::InvalidArgument, "{}: a package selector must be a mapping",
                    where(what, sel));
      if (YAML::Node v = sel["pypi"]; v && v.IsScalar()) {
        auto it = d.pypi_at.find(v.Scalar());
        if (it == d.pypi_at.end())
          return fail(Code::InvalidArgument,
                      "{}: environment '{}', platform {} names pypi package '{}', which the "
                      "'packages' list does not describe",
                      where(what, sel), name, platform_name, redact_url(v.Scalar()));
        PypiLockEntry p = d.pypi[it->second];
        p.extras = DE_TRY(scalar_list(sel["extras"], "extras", what));
        platform.pypi.push_back(std::move(p));
        continue;
      }
      std::string location;
      for (const char* key : {"conda", "conda_source"})
        if (YAML::Node v = sel[key]; v && v.IsScalar()) location = v.Scalar();
      if (location.empty())
        return fail(Code::InvalidArgument, "{}: a package selector has neither 'conda' nor 'pypi'",
                    where(what, sel));
      const LockedPackage* p = DE_TRY(resolve_conda(d, sel, location, platform, name, what));
      platform.packages.push_back(*p);
    }
    env.platforms.push_back(std::move(platform));
  }
  return env;
}

}  // namespace

Result<LockFile> read_pixi_lock(const YAML::Node& root, int version, std::string_view what,
                                const std::filesystem::path& base_dir) {
  LockFile lock{.format = LockFormat::Pixi, .version = version, .what = std::string(what)};
  // Version 7 declares its platforms: a name (the key of the environments' package lists) and
  // the conda subdir it stands for.
  std::map<std::string, std::string> subdirs;
  bool declared = false;
  if (YAML::Node ps = root["platforms"]; version >= 7 && ps && ps.IsSequence()) {
    declared = true;
    for (const auto& p : ps) {
      std::string name = p.IsScalar() ? p.Scalar() : DE_TRY(required_scalar(p, "name", what));
      std::string subdir = p.IsMap() ? optional_scalar(p, "subdir", name) : name;
      if (!subdirs.emplace(name, subdir).second)
        return fail(Code::InvalidArgument, "{}: platform '{}' is declared twice", where(what, p),
                    name);
    }
  }
  Descriptions d = DE_TRY(read_descriptions(root, version, what, base_dir));
  YAML::Node envs = root["environments"];
  if (!envs || !envs.IsMap())
    return fail(Code::InvalidArgument, "{}: no 'environments' mapping", what);
  for (const auto& kv : envs)
    lock.environments.push_back(
        DE_TRY(read_environment(kv.first.Scalar(), kv.second, d, subdirs, declared, what)));
  return lock;
}

}  // namespace de::conda::detail
