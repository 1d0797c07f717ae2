// The lock model's reading by content and its selection (include/docker_envs/conda/lock_file.hpp).
// The format readers are conda_lock.cpp (conda-lock v1), pixi_lock.cpp (pixi 4-7) and explicit.cpp.
#include "docker_envs/conda/lock_file.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "lock_yaml.hpp"
#include "solver_internal.hpp"

namespace de::conda {

namespace detail {

bool starts_a_line(std::string_view text, std::string_view prefix) {
  for (std::size_t pos = 0; pos < text.size();) {
    if (text.substr(pos).starts_with(prefix)) return true;
    auto nl = text.find('\n', pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return false;
}

Result<std::string> required_scalar(const YAML::Node& map, const char* key, std::string_view what) {
  YAML::Node v = map[key];
  if (!v || v.IsNull())
    return fail(Code::InvalidArgument, "{}: package entry has no '{}'", where(what, map), key);
  if (!v.IsScalar())
    return fail(Code::InvalidArgument, "{}: '{}' must be a single value", where(what, v), key);
  return v.Scalar();
}

std::string optional_scalar(const YAML::Node& map, const char* key, std::string fallback) {
  YAML::Node v = map[key];
  if (!v || !v.IsScalar()) return fallback;
  return v.Scalar();
}

Result<std::vector<std::string>> scalar_list(const YAML::Node& node, const char* key,
                                             std::string_view what) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence())
    return fail(Code::InvalidArgument, "{}: '{}' must be a list", where(what, node), key);
  for (const auto& item : node) {
    if (!item.IsScalar())
      return fail(Code::InvalidArgument, "{}: each item of '{}' must be a single value",
                  where(what, item), key);
    out.push_back(item.Scalar());
  }
  return out;
}

Result<std::optional<std::uint64_t>> optional_number(const YAML::Node& map, const char* key,
                                                     std::string_view what) {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return std::optional<std::uint64_t>();
  std::uint64_t n = 0;
  const std::string& s = v.IsScalar() ? v.Scalar() : std::string();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return fail(Code::InvalidArgument, "{}: '{}' must be a whole number, not '{}'", where(what, v),
                key, s);
  return std::optional<std::uint64_t>(n);
}

Status read_hashes(const YAML::Node& map, std::string_view at, std::string_view who,
                   std::optional<Md5Hash>& md5, std::optional<Digest>& sha256,
                   std::string_view prefix) {
  if (auto hex = optional_scalar(map, "md5"); !hex.empty())
    md5 = DE_TRY_CTX(Md5Hash::from_hex(hex), fmt::format("{}: {}: {}md5", at, who, prefix));
  if (auto hex = optional_scalar(map, "sha256"); !hex.empty())
    sha256 = DE_TRY_CTX(Digest::from_hex(hex), fmt::format("{}: {}: {}sha256", at, who, prefix));
  return {};
}

}  // namespace detail

namespace {

using detail::where;

std::string listing(const std::vector<std::string>& names) {
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

bool any_of_listed(const std::vector<std::string>& have, const std::vector<std::string>& wanted) {
  return std::ranges::any_of(
      have, [&](const auto& c) { return std::ranges::find(wanted, c) != wanted.end(); });
}

// `version:` of a YAML lock as a number (InvalidArgument when not a whole number).
Result<long long> lock_version(const YAML::Node& root, std::string_view what) {
  YAML::Node v = root["version"];
  if (!v || !v.IsScalar())
    return fail(Code::InvalidArgument, "{}: not a lock file (no 'version')", what);
  const std::string& s = v.Scalar();
  long long n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n < 1)
    return fail(Code::InvalidArgument, "{}: invalid lock file version '{}'", where(what, v), s);
  return n;
}

Result<LockFile> read_yaml_lock(const YAML::Node& root, std::string_view what,
                                const std::filesystem::path& base_dir) {
  if (!root.IsMap())
    return fail(Code::InvalidArgument, "{}: not a lock file (expected a YAML mapping)", what);
  long long version = DE_TRY(lock_version(root, what));
  std::string at = where(what, root["version"]);
  if (version > kPixiLockMaxVersion)
    return fail(Code::Unsupported,
                "{}: lock file format version {} is newer than the ones docker-envs reads "
                "(conda-lock 1, pixi 4 to {}); update docker-envs or write the lock with an older "
                "tool",
                at, version, kPixiLockMaxVersion);
  if (version == 1) return detail::read_conda_lock_v1(root, what);
  if (version < 4)
    return fail(Code::Unsupported,
                "{}: lock file format version {} (an early pixi format) is not supported; "
                "`pixi install` rewrites it in a current format",
                at, version);
  return detail::read_pixi_lock(root, static_cast<int>(version), what, base_dir);
}

Result<LockFile> read_explicit_lock(std::string_view text, std::string_view what) {
  auto env = DE_TRY(parse_explicit(text, what));
  LockPlatform platform{.name = env.platform, .subdir = env.platform};
  for (auto& r : env.packages) platform.packages.push_back({.record = std::move(r)});
  LockFile lock{.format = LockFormat::Explicit, .version = 0, .what = std::string(what)};
  lock.environments.push_back({.name = "default", .platforms = {std::move(platform)}});
  return lock;
}

Result<const LockPlatform*> choose_platform(const LockFile& lock, const LockEnvironment& env,
                                            std::string_view wanted) {
  std::vector<std::string> names;
  for (const auto& p : env.platforms) names.push_back(p.name);
  if (env.platforms.empty())
    return fail(Code::InvalidArgument, "{}: environment '{}' has no packages for any platform",
                lock.what, env.name);
  if (wanted.empty()) {
    if (env.platforms.size() == 1) return &env.platforms.front();
    if (const auto* p = env.platform("linux-64")) return p;
    return fail(Code::InvalidArgument,
                "{}: environment '{}' covers several platforms ({}); choose one with --platform",
                lock.what, env.name, listing(names));
  }
  if (const auto* p = env.platform(wanted)) return p;
  const LockPlatform* by_subdir = nullptr;
  int matches = 0;
  for (const auto& p : env.platforms)
    if (p.subdir == wanted) by_subdir = &p, ++matches;
  if (matches == 1) return by_subdir;
  return fail(Code::InvalidArgument,
              "{}: no packages for platform {} in environment '{}' (the lock has {})", lock.what,
              wanted, env.name, listing(names));
}

Result<LockedEnvironment> select_explicit(const LockFile& lock, const LockPlatform& platform,
                                          std::string_view wanted) {
  if (!wanted.empty() && !platform.name.empty() && platform.name != wanted)
    return fail(Code::InvalidArgument, "{} is a lock for {} (its '# platform:' line), not {}",
                lock.what, platform.name, wanted);
  LockedEnvironment out{.format = LockFormat::Explicit, .environment = "default"};
  out.platform = platform.name.empty() ? std::string(wanted) : platform.name;
  out.subdir = out.platform;
  for (const auto& p : platform.packages) out.packages.push_back(p.record);
  return out;
}

}  // namespace

std::string_view to_string(LockFormat format) {
  switch (format) {
    case LockFormat::Explicit:
      return "@EXPLICIT";
    case LockFormat::CondaLock:
      return "conda-lock";
    case LockFormat::Pixi:
      return "pixi";
  }
  return "?";
}

const LockPlatform* LockEnvironment::platform(std::string_view wanted) const {
  for (const auto& p : platforms)
    if (p.name == wanted) return &p;
  return nullptr;
}

const LockEnvironment* LockFile::environment(std::string_view wanted) const {
  for (const auto& e : environments)
    if (e.name == wanted) return &e;
  return nullptr;
}

bool looks_like_yaml_lock(std::string_view text) {
  using detail::starts_a_line;
  return !starts_a_line(text, "@EXPLICIT") && starts_a_line(text, "version:") &&
         (starts_a_line(text, "package:") || starts_a_line(text, "packages:") ||
          starts_a_line(text, "environments:") || starts_a_line(text, "metadata:"));
}

Result<LockFile> read_lock(std::string_view text, std::string_view what,
                           const std::filesystem::path& base_dir) {
  if (!looks_like_yaml_lock(text)) return read_explicit_lock(text, what);
  std::filesystem::path dir = base_dir;
  if (dir.empty()) dir = std::filesystem::path(what).parent_path();
  if (dir.empty()) dir = ".";
  return detail::with_yaml(text, what,
                           [&](const YAML::Node& root) { return read_yaml_lock(root, what, dir); });
}

Result<LockFile> load_lock(const std::filesystem::path& path) {
  auto text = DE_TRY(read_file(path, std::size_t{256} << 20));
  return read_lock(text, path.string(), path.parent_path());
}

Result<LockedEnvironment> select_environment(const LockFile& lock, const LockSelection& selection) {
  std::string env_name = selection.environment.empty() ? "default" : selection.environment;
  const LockEnvironment* env = lock.environment(env_name);
  if (!env) {
    std::vector<std::string> names;
    for (const auto& e : lock.environments) names.push_back(e.name);
    return fail(Code::InvalidArgument, "{}: no environment '{}' (the lock has: {})", lock.what,
                env_name, listing(names));
  }
  if (lock.format == LockFormat::Explicit)
    return select_explicit(lock, env->platforms.front(), selection.platform);
  const LockPlatform* platform = DE_TRY(choose_platform(lock, *env, selection.platform));

  LockedEnvironment out{.format = lock.format,
                        .environment = env->name,
                        .platform = platform->name,
                        .subdir = platform->subdir,
                        .content_hash = platform->content_hash};
  std::vector<std::string> pip, sources;
  std::vector<PackageRecord> records;
  std::map<std::string, const LockedPackage*> by_name;
  for (const auto& p : platform->packages) {
    if (!any_of_listed(p.categories, selection.categories)) continue;
    if (!p.source.empty()) {
      sources.push_back(fmt::format("{} (line {})", p.record.name, p.line));
      continue;
    }
    auto [it, fresh] = by_name.emplace(p.record.name, &p);
    if (!fresh) {
      // conda-lock lists a package once per category: the same package twice is one.
      if (it->second->record.url == p.record.url) continue;
      return fail(Code::InvalidArgument,
                  "{}:{}: package {} is listed twice for {} (also at line {}, another url)",
                  lock.what, p.line, p.record.name, platform->name, it->second->line);
    }
    records.push_back(p.record);
  }
  std::map<std::string, const PypiLockEntry*> pypi_by_name;
  for (const auto& p : platform->pypi) {
    if (!any_of_listed(p.categories, selection.categories)) continue;
    if (!selection.pypi) {
      pip.push_back(p.version.empty() ? fmt::format("{} (line {})", p.name, p.line)
                                      : fmt::format("{} {} (line {})", p.name, p.version, p.line));
      continue;
    }
    if (p.url.empty())
      return fail(Code::InvalidArgument,
                  "{}:{}: pypi package {}: path '{}' leaves the lock file's directory", lock.what,
                  p.line, p.name, p.location);
    auto [it, fresh] = pypi_by_name.emplace(p.name, &p);
    if (!fresh) {
      if (it->second->url == p.url) continue;
      return fail(Code::InvalidArgument,
                  "{}:{}: pypi package {} is listed twice for {} (also at line {}, another url)",
                  lock.what, p.line, p.name, platform->name, it->second->line);
    }
    out.pypi.push_back(p);
  }
  if (!pip.empty())
    return fail(Code::Unsupported,
                "{}: pip packages are not supported yet: {} (environment '{}', {}); remove them "
                "from the lock or install them in a later step",
                lock.what, fmt::join(pip, ", "), env->name, platform->name);
  if (!sources.empty())
    return fail(Code::Unsupported,
                "{}: packages to be built from source are not supported: {} (environment '{}', "
                "{}); build them into a channel and lock against it",
                lock.what, fmt::join(sources, ", "), env->name, platform->name);
  out.packages = detail::topological_order(std::move(records));
  return out;
}

Result<LockedEnvironment> parse_lockfile(std::string_view text, std::string_view what,
                                         const LockSelection& selection,
                                         const std::filesystem::path& base_dir) {
  auto lock = DE_TRY(read_lock(text, what, base_dir));
  return select_environment(lock, selection);
}

Result<LockedEnvironment> parse_lockfile(std::string_view text, std::string_view what,
                                         std::string_view platform) {
  return parse_lockfile(text, what, LockSelection{.platform = std::string(platform)});
}

}  // namespace de::conda
