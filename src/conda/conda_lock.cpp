#include "docker_envs/conda/conda_lock.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "solver_internal.hpp"

namespace de::conda {

namespace {

int line_of(const YAML::Node& node) {
  auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string where(std::string_view what, const YAML::Node& node) {
  int line = line_of(node);
  return line > 0 ? fmt::format("{}:{}", what, line) : std::string(what);
}

// A required scalar field of a mapping.
Result<std::string> field(const YAML::Node& map, const char* key, std::string_view what) {
  YAML::Node v = map[key];
  if (!v || v.IsNull())
    return fail(Code::InvalidArgument, "{}: package entry has no '{}'", where(what, map), key);
  if (!v.IsScalar())
    return fail(Code::InvalidArgument, "{}: '{}' must be a single value", where(what, v), key);
  return v.Scalar();
}

std::string optional_field(const YAML::Node& map, const char* key, std::string fallback = {}) {
  YAML::Node v = map[key];
  if (!v || !v.IsScalar()) return fallback;
  return v.Scalar();
}

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

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<CondaLock> parse_document(const YAML::Node& root, std::string_view what,
                                 const CondaLockReadOptions& options) {
  if (!root.IsMap())
    return fail(Code::InvalidArgument, "{}: not a conda-lock file (expected a YAML mapping)", what);
  YAML::Node format = root["version"];
  if (!format || !format.IsScalar())
    return fail(Code::InvalidArgument, "{}: not a conda-lock file (no 'version')", what);
  if (format.Scalar() != "1") {
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
  CondaLock lock;
  if (YAML::Node meta = root["metadata"]; meta && meta.IsMap()) {
    if (YAML::Node ps = meta["platforms"]; ps && ps.IsSequence())
      for (const auto& p : ps)
        if (p.IsScalar()) lock.platforms.push_back(p.Scalar());
    if (YAML::Node cs = meta["channels"]; cs && cs.IsSequence())
      for (const auto& c : cs) {
        if (c.IsMap() && c["url"] && c["url"].IsScalar())
          lock.channels.push_back(c["url"].Scalar());
        else if (c.IsScalar())
          lock.channels.push_back(c.Scalar());
      }
    if (YAML::Node h = meta["content_hash"]; h && h.IsMap())
      for (const auto& kv : h)
        if (kv.second.IsScalar()) lock.content_hash[kv.first.Scalar()] = kv.second.Scalar();
  }
  YAML::Node packages = root["package"];
  if (!packages || !packages.IsSequence())
    return fail(Code::InvalidArgument, "{}: no 'package' list", what);

  // Platforms: from the metadata, else from the packages.
  if (lock.platforms.empty()) {
    std::set<std::string> seen;
    for (const auto& p : packages)
      if (p.IsMap()) seen.insert(optional_field(p, "platform"));
    seen.erase("");
    lock.platforms.assign(seen.begin(), seen.end());
  }
  auto listing = [&] {
    std::string s;
    for (const auto& p : lock.platforms) s += (s.empty() ? "" : ", ") + p;
    return s.empty() ? std::string("none") : s;
  };
  if (options.platform.empty()) {
    if (lock.platforms.size() != 1)
      return fail(Code::InvalidArgument,
                  "{}: the lock covers several platforms ({}); choose one with --platform", what,
                  listing());
    lock.platform = lock.platforms.front();
  } else {
    if (!contains(lock.platforms, options.platform))
      return fail(Code::InvalidArgument, "{}: no packages for platform {} (the lock has {})", what,
                  options.platform, listing());
    lock.platform = options.platform;
  }

  std::vector<std::string> pip;
  std::vector<PackageRecord> records;
  std::set<std::string> names;
  for (const auto& entry : packages) {
    if (!entry.IsMap())
      return fail(Code::InvalidArgument, "{}: a package entry must be a mapping",
                  where(what, entry));
    std::string name = DE_TRY(field(entry, "name", what));
    std::string at = where(what, entry);
    std::string platform = DE_TRY_CTX(field(entry, "platform", what), "package " + name);
    if (platform != lock.platform) continue;
    std::string category = optional_field(entry, "category", "main");
    if (YAML::Node cats = entry["categories"]; cats && cats.IsSequence()) {
      // Newer conda-lock writes a list; take the package when any of them was asked for.
      for (const auto& c : cats)
        if (c.IsScalar() && contains(options.categories, c.Scalar())) category = c.Scalar();
    }
    if (!contains(options.categories, category)) continue;
    std::string manager = DE_TRY_CTX(field(entry, "manager", what), at + ": package " + name);
    std::string version = DE_TRY_CTX(field(entry, "version", what), at + ": package " + name);
    if (manager == "pip") {
      pip.push_back(fmt::format("{} {} (line {})", name, version, line_of(entry)));
      continue;
    }
    if (manager != "conda")
      return fail(Code::Unsupported, "{}: package {}: unknown manager '{}' (expected conda)", at,
                  name, manager);
    std::string url = DE_TRY_CTX(field(entry, "url", what), at + ": package " + name);
    PackageRecord r = DE_TRY_CTX(record_from_url(url), at + ": package " + name);
    if (r.name != name)
      return fail(Code::InvalidArgument, "{}: package {}: its url names package '{}'", at, name,
                  r.name);
    r.version = version;
    r.depends = DE_TRY(spec_map(entry["dependencies"], "dependencies", what));
    r.constrains = DE_TRY(spec_map(entry["constrains"], "constrains", what));
    YAML::Node hash = entry["hash"];
    if (!hash || !hash.IsMap())
      return fail(Code::InvalidArgument, "{}: package {} has no 'hash' (md5 / sha256)", at, name);
    if (auto md5 = optional_field(hash, "md5"); !md5.empty())
      r.md5 = DE_TRY_CTX(Md5Hash::from_hex(md5), at + ": package " + name + ": hash.md5");
    if (auto sha = optional_field(hash, "sha256"); !sha.empty())
      r.sha256 = DE_TRY_CTX(Digest::from_hex(sha), at + ": package " + name + ": hash.sha256");
    if (!r.md5 && !r.sha256)
      return fail(Code::InvalidArgument, "{}: package {}: 'hash' has neither md5 nor sha256", at,
                  name);
    if (!names.insert(name).second)
      return fail(Code::InvalidArgument, "{}: package {} is listed twice for {}", at, name,
                  lock.platform);
    records.push_back(std::move(r));
  }
  if (!pip.empty()) {
    std::string list;
    for (const auto& p : pip) list += (list.empty() ? "" : ", ") + p;
    return fail(Code::Unsupported,
                "{}: pip packages are not supported yet: {}; remove them from the lock or install "
                "them in a later step",
                what, list);
  }
  lock.packages = detail::topological_order(std::move(records));
  return lock;
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

Result<CondaLock> parse_conda_lock(std::string_view yaml, std::string_view what,
                                   const CondaLockReadOptions& options) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: invalid YAML: {}", what,
                e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg);
  }
  try {
    return parse_document(root, what, options);
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: {}", what, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                e.msg);
  }
}

Result<CondaLock> load_conda_lock(const std::filesystem::path& path,
                                  const CondaLockReadOptions& options) {
  auto text = DE_TRY(read_file(path));
  return parse_conda_lock(text, path.string(), options);
}

bool looks_like_conda_lock(std::string_view text) {
  bool package = false, version = false;
  for (std::size_t pos = 0; pos < text.size();) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.starts_with("@EXPLICIT")) return false;
    if (line.starts_with("package:")) package = true;
    if (line.starts_with("version:")) version = true;
  }
  return package && version;
}

Result<LockedEnvironment> parse_lockfile(std::string_view text, std::string_view what,
                                         std::string_view platform) {
  LockedEnvironment out;
  if (looks_like_conda_lock(text)) {
    out.format = LockedEnvironment::Format::CondaLock;
    CondaLockReadOptions options{.platform = std::string(platform)};
    auto lock = parse_conda_lock(text, what, options);
    if (!lock && platform.empty() && lock.error().code() == Code::InvalidArgument &&
        lock.error().message().find("several platforms") != std::string::npos) {
      // Several platforms and no choice: the image default, when the lock has it.
      options.platform = "linux-64";
      auto retry = parse_conda_lock(text, what, options);
      if (retry) lock = std::move(retry);
    }
    if (!lock) return std::unexpected(std::move(lock).error());
    out.platform = lock->platform;
    out.packages = std::move(lock->packages);
    return out;
  }
  auto env = DE_TRY(parse_explicit(text, what));
  if (!platform.empty() && !env.platform.empty() && env.platform != platform)
    return fail(Code::InvalidArgument, "{} is a lock for {} (its '# platform:' line), not {}", what,
                env.platform, platform);
  out.platform = env.platform.empty() ? std::string(platform) : env.platform;
  out.packages = std::move(env.packages);
  return out;
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
  if (packages.empty()) out += " []";
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
  return out;
}

}  // namespace de::conda
