#include "docker_envs/conda/conda_lock.hpp"

#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "lock_yaml.hpp"
#include "solver_internal.hpp"

namespace de::conda {

namespace {

using detail::line_of;
using detail::optional_scalar;
using detail::required_scalar;
using detail::where;

// {name: spec} -> "name spec" (or "name" for "" / "*").
Result<std::vector<std::string>> spec_map(const YAML::Node& node, const char* key,
                                          std::string_view what) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap())
    return fail(Code::InvalidArgument, "{}: '{}' must be a mapping of name to spec",
                where(what, node), key);
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    std::string spec = kv.second.IsScalar() ? kv.second.Scalar() : std::string();
    out.push_back(spec.empty() || spec == "*" ? name : name + " " + spec);
  }
  return out;
}

// The categories of an entry: `categories` (newer conda-lock writes a list) or `category`
// (default main).
std::vector<std::string> categories_of(const YAML::Node& entry) {
  std::vector<std::string> out;
  if (YAML::Node cats = entry["categories"]; cats && cats.IsSequence())
    for (const auto& c : cats)
      if (c.IsScalar()) out.push_back(c.Scalar());
  if (out.empty()) out.push_back(optional_scalar(entry, "category", "main"));
  return out;
}

Result<PypiLockEntry> pip_entry(const YAML::Node& entry, std::string name, std::string version,
                                std::string_view what) {
  std::string at = where(what, entry);
  PypiLockEntry p{.name = std::move(name), .version = std::move(version)};
  p.location = optional_scalar(entry, "url");
  p.url = p.location;
  p.requires_dist = DE_TRY(spec_map(entry["dependencies"], "dependencies", what));
  p.categories = categories_of(entry);
  p.line = line_of(entry);
  if (YAML::Node hash = entry["hash"]; hash && hash.IsMap())
    DE_TRY(detail::read_hashes(hash, at, "package " + p.name, p.md5, p.sha256, "hash."));
  if (YAML::Node source = entry["source"]; source && source.IsMap())
    p.direct = optional_scalar(source, "type") == "url";
  return p;
}

Result<LockedPackage> conda_entry(const YAML::Node& entry, const std::string& name,
                                  std::string version, std::string_view what) {
  std::string at = where(what, entry);
  std::string url = DE_TRY_CTX(required_scalar(entry, "url", what), at + ": package " + name);
  PackageRecord r = DE_TRY_CTX(record_from_url(url), at + ": package " + name);
  if (r.name != name)
    return fail(Code::InvalidArgument, "{}: package {}: its url names package '{}'", at, name,
                r.name);
  r.version = std::move(version);
  r.depends = DE_TRY(spec_map(entry["dependencies"], "dependencies", what));
  r.constrains = DE_TRY(spec_map(entry["constrains"], "constrains", what));
  YAML::Node hash = entry["hash"];
  if (!hash || !hash.IsMap())
    return fail(Code::InvalidArgument, "{}: package {} has no 'hash' (md5 / sha256)", at, name);
  DE_TRY(detail::read_hashes(hash, at, "package " + name, r.md5, r.sha256, "hash."));
  if (!r.md5 && !r.sha256)
    return fail(Code::InvalidArgument, "{}: package {}: 'hash' has neither md5 nor sha256", at,
                name);
  return LockedPackage{
      .record = std::move(r), .categories = categories_of(entry), .line = line_of(entry)};
}

LockPlatform& platform_named(LockEnvironment& env, const std::string& name) {
  for (auto& p : env.platforms)
    if (p.name == name) return p;
  env.platforms.push_back({.name = name, .subdir = name});
  return env.platforms.back();
}

// The version check shared by parse_conda_lock (conda-lock only).
Status check_conda_lock_version(const YAML::Node& root, std::string_view what) {
  if (!root.IsMap())
    return fail(Code::InvalidArgument, "{}: not a conda-lock file (expected a YAML mapping)", what);
  YAML::Node format = root["version"];
  if (!format || !format.IsScalar())
    return fail(Code::InvalidArgument, "{}: not a conda-lock file (no 'version')", what);
  if (format.Scalar() == "1") return {};
  bool numeric = !format.Scalar().empty() &&
                 format.Scalar().find_first_not_of("0123456789") == std::string::npos;
  if (numeric)
    return fail(Code::Unsupported,
                "{}: lock file format version {} is not supported (only conda-lock version 1; "
                "versions 2 and later are written by pixi/rattler)",
                where(what, format), format.Scalar());
  return fail(Code::InvalidArgument, "{}: invalid lock file version '{}' (expected 1)",
              where(what, format), format.Scalar());
}

// YAML double-quoted scalar (JSON-compatible escapes).
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

// "numpy >=1.2" -> {"numpy", ">=1.2"}; "numpy" -> {"numpy", "*"}.
std::pair<std::string, std::string> split_spec(std::string_view spec) {
  std::string_view name = detail::spec_package_name(spec);
  auto pos = spec.find(name);
  std::string_view rest = pos == std::string_view::npos ? spec : spec.substr(pos + name.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (name.empty()) return {std::string(spec), "*"};
  return {std::string(name), rest.empty() ? "*" : std::string(rest)};
}

}  // namespace

namespace detail {

Result<LockFile> read_conda_lock_v1(const YAML::Node& root, std::string_view what) {
  LockFile lock{.format = LockFormat::CondaLock, .version = 1, .what = std::string(what)};
  LockEnvironment env{.name = "default"};
  std::map<std::string, std::string> content_hash;
  if (YAML::Node meta = root["metadata"]; meta && meta.IsMap()) {
    if (YAML::Node ps = meta["platforms"]; ps && ps.IsSequence())
      for (const auto& p : ps)
        if (p.IsScalar()) platform_named(env, p.Scalar());
    if (YAML::Node cs = meta["channels"]; cs && cs.IsSequence())
      for (const auto& c : cs) {
        if (c.IsMap() && c["url"] && c["url"].IsScalar())
          env.channels.push_back(c["url"].Scalar());
        else if (c.IsScalar())
          env.channels.push_back(c.Scalar());
      }
    if (YAML::Node h = meta["content_hash"]; h && h.IsMap())
      for (const auto& kv : h)
        if (kv.second.IsScalar()) content_hash[kv.first.Scalar()] = kv.second.Scalar();
  }
  YAML::Node packages = root["package"];
  if (!packages || !packages.IsSequence())
    return fail(Code::InvalidArgument, "{}: no 'package' list", what);
  if (env.platforms.empty()) {
    // Platforms: from the metadata, else from the packages (sorted).
    std::set<std::string> seen;
    for (const auto& p : packages)
      if (p.IsMap()) seen.insert(optional_scalar(p, "platform"));
    seen.erase("");
    for (const auto& p : seen) platform_named(env, p);
  }
  for (const auto& entry : packages) {
    if (!entry.IsMap())
      return fail(Code::InvalidArgument, "{}: a package entry must be a mapping",
                  where(what, entry));
    std::string name = DE_TRY(required_scalar(entry, "name", what));
    std::string at = where(what, entry) + ": package " + name;
    std::string platform = DE_TRY_CTX(required_scalar(entry, "platform", what), "package " + name);
    std::string manager = DE_TRY_CTX(required_scalar(entry, "manager", what), at);
    std::string version = DE_TRY_CTX(required_scalar(entry, "version", what), at);
    LockPlatform& target = platform_named(env, platform);
    if (manager == "pip") {
      target.pypi.push_back(DE_TRY(pip_entry(entry, name, std::move(version), what)));
    } else if (manager == "conda") {
      target.packages.push_back(DE_TRY(conda_entry(entry, name, std::move(version), what)));
    } else {
      return fail(Code::Unsupported, "{}: unknown manager '{}' (expected conda or pip)", at,
                  manager);
    }
  }
  for (auto& p : env.platforms)
    if (auto it = content_hash.find(p.name); it != content_hash.end()) p.content_hash = it->second;
  lock.environments.push_back(std::move(env));
  return lock;
}

}  // namespace detail

Result<CondaLock> parse_conda_lock(std::string_view yaml, std::string_view what,
                                   const CondaLockReadOptions& options) {
  auto read = [&](const YAML::Node& root) -> Result<LockFile> {
    if (auto checked = check_conda_lock_version(root, what); !checked)
      return std::unexpected(std::move(checked).error());
    return detail::read_conda_lock_v1(root, what);
  };
  auto lock = DE_TRY(detail::with_yaml(yaml, what, read));
  const LockEnvironment& env = lock.environments.front();
  CondaLock out;
  out.channels = env.channels;
  for (const auto& p : env.platforms) {
    out.platforms.push_back(p.name);
    if (!p.content_hash.empty()) out.content_hash[p.name] = p.content_hash;
  }
  if (options.platform.empty() && out.platforms.size() != 1)
    return fail(Code::InvalidArgument,
                "{}: the lock covers several platforms ({}); choose one with --platform", what,
                out.platforms.empty() ? std::string("none")
                                      : fmt::format("{}", fmt::join(out.platforms, ", ")));
  auto selected = DE_TRY(
      select_environment(lock, {.platform = options.platform, .categories = options.categories}));
  out.platform = std::move(selected.platform);
  out.packages = std::move(selected.packages);
  return out;
}

Result<CondaLock> load_conda_lock(const std::filesystem::path& path,
                                  const CondaLockReadOptions& options) {
  auto text = DE_TRY(read_file(path));
  return parse_conda_lock(text, path.string(), options);
}

bool looks_like_conda_lock(std::string_view text) {
  using detail::starts_a_line;
  return !starts_a_line(text, "@EXPLICIT") && starts_a_line(text, "package:") &&
         starts_a_line(text, "version:");
}

Result<std::string> write_conda_lock(std::span<const PackageRecord> packages,
                                     const CondaLockWriteOptions& options) {
  DE_TRY(parse_platform(options.platform));
  std::string out =
      "# A conda-lock (version 1) lock file written by docker-envs lock. Install it with\n"
      "#   docker-envs env install THIS_FILE --root DIR, conda-lock install, or\n"
      "#   micromamba create -n ENV -f THIS_FILE\n"
      "version: 1\n"
      "metadata:\n"
      "  content_hash:\n";
  out += fmt::format("    {}: {}\n", options.platform, quote(options.content_hash));
  out += "  channels:\n";
  if (options.channels.empty()) out.resize(out.size() - 1), out += " []\n";
  for (const auto& c : options.channels)
    out += fmt::format("    - url: {}\n      used_env_vars: []\n", quote(redact_url(c)));
  out += fmt::format("  platforms:\n    - {}\n", options.platform);
  out += "  sources:";
  if (options.sources.empty()) out += " []";
  out += "\n";
  for (const auto& s : options.sources) out += fmt::format("    - {}\n", quote(s));
  out += "package:";
  if (packages.empty() && options.pypi.empty()) out += " []";
  out += "\n";
  for (const auto& r : packages) {
    if (r.url.empty())
      return fail(Code::InvalidArgument, "package {}: no url to write into the lock",
                  r.dist_name());
    if (!r.md5 && !r.sha256)
      return fail(Code::InvalidArgument, "package {}: no md5 or sha256 to write into the lock",
                  r.dist_name());
    out += fmt::format("  - name: {}\n    version: {}\n    manager: conda\n    platform: {}\n",
                       quote(r.name), quote(r.version), options.platform);
    auto write_specs = [&](const char* key, const std::vector<std::string>& specs) {
      if (specs.empty()) {
        out += fmt::format("    {}: {{}}\n", key);
        return;
      }
      out += fmt::format("    {}:\n", key);
      // A mapping cannot repeat a key: two specs on one name are joined with ','.
      std::vector<std::pair<std::string, std::string>> merged;
      for (const auto& s : specs) {
        auto [name, spec] = split_spec(s);
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&](const auto& m) { return m.first == name; });
        if (it == merged.end()) {
          merged.emplace_back(name, spec);
        } else if (spec != "*") {
          it->second = it->second == "*" ? spec : it->second + "," + spec;
        }
      }
      for (const auto& [name, spec] : merged)
        out += fmt::format("      {}: {}\n", quote(name), quote(spec));
    };
    write_specs("dependencies", r.depends);
    if (!r.constrains.empty()) write_specs("constrains", r.constrains);
    out += fmt::format("    url: {}\n    hash:\n", quote(r.url));
    if (r.md5) out += fmt::format("      md5: {}\n", r.md5->hex());
    if (r.sha256) out += fmt::format("      sha256: {}\n", r.sha256->hex());
    out += "    category: main\n    optional: false\n";
  }
  for (const auto& p : options.pypi) {
    std::string url = strip_credentials(p.url);
    if (url.empty() || !p.sha256)
      return fail(Code::InvalidArgument, "pypi package {} {}: no url or sha256 to write into the lock",
                  p.name, p.version);
    out += fmt::format("  - name: {}\n    version: {}\n    manager: pip\n    platform: {}\n",
                       quote(p.name), quote(p.version), options.platform);
    if (p.requires_dist.empty()) out += "    dependencies: {}\n";
    else out += "    dependencies:\n";
    for (const auto& d : p.requires_dist) {
      auto space = d.find(' ');
      std::string name = d.substr(0, space);
      std::string spec = space == std::string::npos ? "*" : d.substr(space + 1);
      out += fmt::format("      {}: {}\n", quote(name), quote(spec));
    }
    out += fmt::format("    url: {}\n    hash:\n      sha256: {}\n", quote(url), p.sha256->hex());
    // conda-lock's mark of a requirement given by URL.
    if (p.direct) out += fmt::format("    source:\n      type: url\n      url: {}\n", quote(url));
    out += "    category: main\n    optional: false\n";
  }
  return out;
}

}  // namespace de::conda
