// environment.yml parsing with yaml-cpp (used only in this file; its types stay here).
#include "docker_envs/conda/environment_spec.hpp"

#include <yaml-cpp/yaml.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/version.hpp"

namespace de::conda {

namespace {

int line_of(const YAML::Node& node) {
  auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string where(std::string_view what, int line) {
  return line > 0 ? fmt::format("{}:{}", what, line) : std::string(what);
}

// A scalar as text; null gives "".
Result<std::string> scalar(const YAML::Node& node, std::string_view what, std::string_view key) {
  if (node.IsNull()) return std::string();
  if (!node.IsScalar())
    return fail(Code::InvalidArgument, "{}: '{}' must be a single value",
                where(what, line_of(node)), key);
  return node.Scalar();
}

// "sel(linux)" -> "linux"; "" when the key is not a selector.
std::string_view selector_of(std::string_view key) {
  if (key.starts_with("sel(") && key.ends_with(")")) return key.substr(4, key.size() - 5);
  return {};
}

Status add_dependency(EnvironmentSpec& spec, const YAML::Node& item, std::string selector,
                      std::string_view what) {
  int line = line_of(item);
  if (!item.IsScalar())
    return fail(Code::InvalidArgument, "{}: a dependency must be a match spec string",
                where(what, line));
  std::string text = item.Scalar();
  if (auto parsed = MatchSpec::parse(text); !parsed)
    return std::unexpected(std::move(parsed).error().add_context(where(what, line)));
  if (selector.empty()) spec.dependencies.push_back(text);
  spec.dependency_lines.push_back({.spec = std::move(text), .line = line, .selector = selector});
  return {};
}

// `- pip: [LINE, ...]`: pip requirement lines, kept as written (read by the pypi module).
Status add_pip_items(EnvironmentSpec& spec, const YAML::Node& items, std::string_view what,
                     int line) {
  if (items.IsNull()) return {};
  if (!items.IsSequence())
    return fail(Code::InvalidArgument,
                "{}: 'pip' must be a list of pip requirements (such as `- requests>=2`)",
                where(what, line));
  for (const auto& item : items) {
    if (!item.IsScalar() || item.Scalar().empty())
      return fail(Code::InvalidArgument,
                  "{}: a pip item must be a requirement or pip option string",
                  where(what, line_of(item)));
    spec.pip.push_back({.text = item.Scalar(), .line = line_of(item)});
  }
  return {};
}

Status parse_dependencies(EnvironmentSpec& spec, const YAML::Node& deps, std::string_view what) {
  if (deps.IsNull()) return {};
  if (!deps.IsSequence())
    return fail(Code::InvalidArgument, "{}: 'dependencies' must be a list of match specs",
                where(what, line_of(deps)));
  for (const auto& item : deps) {
    if (!item.IsMap()) {
      DE_TRY(add_dependency(spec, item, "", what));
      continue;
    }
    for (const auto& kv : item) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      int line = line_of(kv.first);
      if (key == "pip") {
        DE_TRY(add_pip_items(spec, kv.second, what, line));
        continue;
      }
      std::string_view selector = selector_of(key);
      if (selector.empty())
        return fail(Code::InvalidArgument,
                    "{}: unexpected mapping '{}' in dependencies (expected a match spec, or "
                    "'sel(PLATFORM): spec')",
                    where(what, line), key);
      DE_TRY(add_dependency(spec, kv.second, std::string(selector), what));
    }
  }
  return {};
}

Status parse_string_list(std::vector<std::string>& out, const YAML::Node& node,
                         std::string_view what, std::string_view key) {
  if (node.IsNull()) return {};
  if (!node.IsSequence())
    return fail(Code::InvalidArgument, "{}: '{}' must be a list", where(what, line_of(node)), key);
  for (const auto& item : node) out.push_back(DE_TRY(scalar(item, what, key)));
  return {};
}

// `virtual_packages: {__glibc: "2.36", __cuda: "12.4", __archspec: x86_64_v3}`; an empty value
// removes the package, as an empty CONDA_OVERRIDE_* does.
Status parse_virtual_packages(VirtualPackageOverrides& out, const YAML::Node& node,
                              std::string_view what) {
  if (node.IsNull()) return {};
  if (!node.IsMap())
    return fail(Code::InvalidArgument,
                "{}: 'virtual_packages' must be a mapping such as `__glibc: \"2.36\"`",
                where(what, line_of(node)));
  for (const auto& kv : node) {
    std::string name = DE_TRY(scalar(kv.first, what, "virtual_packages"));
    int line = line_of(kv.first);
    std::optional<std::string>* slot = name == "__glibc"      ? &out.glibc
                                       : name == "__cuda"     ? &out.cuda
                                       : name == "__osx"      ? &out.osx
                                       : name == "__linux"    ? &out.linux
                                       : name == "__win"      ? &out.win
                                       : name == "__archspec" ? &out.archspec
                                                              : nullptr;
    if (!slot)
      return fail(Code::InvalidArgument,
                  "{}: unknown virtual package '{}' (known: __glibc, __cuda, __osx, __linux, "
                  "__win, __archspec)",
                  where(what, line), name);
    std::string value = DE_TRY(scalar(kv.second, what, name));
    if (!value.empty() && name != "__archspec")
      DE_TRY_CTX(Version::parse(value),
                 fmt::format("{}: virtual package {}: '{}' is not a version", where(what, line),
                             name, value));
    *slot = std::move(value);
  }
  return {};
}

Result<EnvironmentSpec> parse_document(const YAML::Node& root, std::string_view what) {
  EnvironmentSpec spec;
  if (root.IsNull()) return spec;
  if (!root.IsMap())
    return fail(Code::InvalidArgument, "{}: an environment file must be a mapping of keys",
                where(what, line_of(root)));
  for (const auto& kv : root) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const YAML::Node& value = kv.second;
    if (key == "name") {
      spec.name = DE_TRY(scalar(value, what, key));
    } else if (key == "channels") {
      DE_TRY(parse_string_list(spec.channels, value, what, key));
    } else if (key == "dependencies") {
      DE_TRY(parse_dependencies(spec, value, what));
    } else if (key == "variables") {
      if (value.IsNull()) continue;
      if (!value.IsMap())
        return fail(Code::InvalidArgument, "{}: 'variables' must be a mapping NAME: value",
                    where(what, line_of(value)));
      for (const auto& var : value) {
        std::string name = DE_TRY(scalar(var.first, what, "variables"));
        spec.variables.emplace_back(std::move(name), DE_TRY(scalar(var.second, what, name)));
      }
    } else if (key == "platforms") {
      DE_TRY(parse_string_list(spec.platforms, value, what, key));
    } else if (key == "virtual_packages") {
      DE_TRY(parse_virtual_packages(spec.virtual_packages, value, what));
    } else if (key == "prefix" || key == "image") {
      // prefix: a host path, meaningless for an image. image: read by the build command.
    } else {
      spec.warnings.push_back(fmt::format("{}: unknown top-level key '{}' (ignored)",
                                          where(what, line_of(kv.first)), key));
    }
  }
  return spec;
}

}  // namespace

bool selector_matches(std::string_view selector, std::string_view platform) {
  auto os = platform.substr(0, platform.find('-'));
  if (selector == platform || selector == os) return true;
  if (selector == "unix") return os == "linux" || os == "osx";
  // Bitness/arch shorthands as in conda-build selectors.
  if (selector == "linux64") return platform == "linux-64";
  if (selector == "aarch64") return platform == "linux-aarch64";
  if (selector == "ppc64le") return platform == "linux-ppc64le";
  if (selector == "arm64") return platform == "osx-arm64" || platform == "win-arm64";
  if (selector == "win64") return platform == "win-64";
  return false;
}

std::vector<std::string> EnvironmentSpec::dependencies_for(std::string_view platform) const {
  std::vector<std::string> out;
  for (const auto& d : dependency_lines)
    if (d.selector.empty() || selector_matches(d.selector, platform)) out.push_back(d.spec);
  return out;
}

Result<EnvironmentSpec> parse_environment_spec(std::string_view yaml, std::string_view what) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}: invalid YAML: {}",
                where(what, e.mark.line >= 0 ? e.mark.line + 1 : 0), e.msg);
  }
  try {
    return parse_document(root, what);
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}: {}",
                where(what, e.mark.line >= 0 ? e.mark.line + 1 : 0), e.msg);
  }
}

Result<EnvironmentSpec> load_environment_spec(const std::filesystem::path& path) {
  std::string text = DE_TRY(read_file(path));
  auto spec = DE_TRY(parse_environment_spec(text, path.string()));
  spec.file = path;
  return spec;
}

}  // namespace de::conda
