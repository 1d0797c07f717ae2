#include "docker_envs/build/image_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::build {
namespace fs = std::filesystem;

Result<FileSpec> FileSpec::parse(std::string_view text) {
  if (text.empty()) return fail(Code::InvalidArgument, "an empty file entry");
  auto colon = text.rfind(':');
  FileSpec f;
  if (colon == std::string_view::npos) {
    f.source = std::string(text);
    auto base = fs::path(std::string(text)).lexically_normal().filename().string();
    if (base.empty() || base == "." || base == "..")
      base = fs::path(std::string(text)).lexically_normal().parent_path().filename().string();
    if (base.empty() || base == "." || base == "..")
      return fail(Code::InvalidArgument, "file '{}': give a destination as SRC:/DEST", text);
    f.dest = "/" + base;
  } else {
    f.source = std::string(text.substr(0, colon));
    f.dest = std::string(text.substr(colon + 1));
  }
  if (f.source.empty()) return fail(Code::InvalidArgument, "file '{}': empty source", text);
  if (!f.dest.starts_with("/"))
    return fail(Code::InvalidArgument, "file '{}': the destination must be an absolute path", text);
  return f;
}

namespace {

class Parser {
 public:
  Parser(std::string_view what, fs::path base_dir) : what_(what), base_dir_(std::move(base_dir)) {}

  template <class... Args>
  std::unexpected<Error> error(const YAML::Node& at, fmt::format_string<Args...> f,
                               Args&&... args) const {
    auto mark = at.Mark();
    std::string where =
        mark.line >= 0 ? fmt::format("{}:{}", what_, mark.line + 1) : std::string(what_);
    return fail(Code::InvalidArgument, "{}: {}", where,
                fmt::format(f, std::forward<Args>(args)...));
  }

  Result<std::string> scalar(const YAML::Node& n, std::string_view key) const {
    if (!n.IsScalar()) return error(n, "'{}' must be a single value", key);
    return n.Scalar();
  }

  Result<std::vector<std::string>> string_list(const YAML::Node& n, std::string_view key) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    return sequence(n, key);
  }

  // entrypoint/cmd: a list, or a string (command_from_string).
  Result<std::vector<std::string>> command(const YAML::Node& n, std::string_view key) const {
    if (n.IsScalar()) return command_from_string(n.Scalar());
    return sequence(n, key);
  }

  Result<std::vector<std::string>> sequence(const YAML::Node& n, std::string_view key) const {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) return error(n, "'{}' must be a list of strings", key);
    for (const auto& item : n) {
      if (!item.IsScalar()) return error(item, "'{}' must be a list of strings", key);
      out.push_back(item.Scalar());
    }
    return out;
  }

  // A mapping NAME: VALUE, or a list of NAME=VALUE.
  Result<std::vector<NameValue>> name_values(const YAML::Node& n, std::string_view key) const {
    std::vector<NameValue> out;
    if (n.IsNull()) return out;
    if (n.IsMap()) {
      for (const auto& kv : n) {
        if (!kv.first.IsScalar() || kv.first.Scalar().empty())
          return error(kv.first, "'{}' needs non-empty names", key);
        if (!kv.second.IsScalar() && !kv.second.IsNull())
          return error(kv.second, "'{}.{}' must be a single value", key, kv.first.Scalar());
        out.emplace_back(kv.first.Scalar(), kv.second.IsNull() ? "" : kv.second.Scalar());
      }
      return out;
    }
    if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!item.IsScalar()) return error(item, "'{}' entries must be NAME=VALUE", key);
        auto text = item.Scalar();
        auto eq = text.find('=');
        if (eq == std::string::npos || eq == 0)
          return error(item, "'{}' entry '{}' is not NAME=VALUE", key, text);
        out.emplace_back(text.substr(0, eq), text.substr(eq + 1));
      }
      return out;
    }
    return error(n, "'{}' must be a mapping of names to values", key);
  }

  Result<FileSpec> file(const YAML::Node& n) const {
    FileSpec f;
    if (n.IsScalar()) {
      auto parsed = FileSpec::parse(n.Scalar());
      if (!parsed) return error(n, "{}", parsed.error().message());
      f = *parsed;
    } else if (n.IsMap()) {
      for (const auto& kv : n) {
        auto k = kv.first.Scalar();
        if (k == "source" || k == "src")
          f.source = DE_TRY(scalar(kv.second, "files." + k));
        else if (k == "dest" || k == "destination")
          f.dest = DE_TRY(scalar(kv.second, "files." + k));
        else
          return error(kv.first, "unknown key 'files.{}' (expected source, dest)", k);
      }
      if (f.source.empty()) return error(n, "a 'files' entry needs a source");
      if (f.dest.empty()) {
        auto parsed = FileSpec::parse(f.source.string());
        if (!parsed) return error(n, "{}", parsed.error().message());
        f.dest = parsed->dest;
      }
      if (!f.dest.starts_with("/"))
        return error(n, "'files' destination '{}' must be an absolute path", f.dest);
    } else {
      return error(n, "a 'files' entry must be SRC:DEST or {{source, dest}}");
    }
    if (f.source.is_relative()) f.source = base_dir_ / f.source;
    return f;
  }

  Status layering(const YAML::Node& n, ImageSpec& spec) const {
    if (n.IsNull()) return {};
    if (!n.IsMap()) return error(n, "'layering' must be a mapping (strategy, max_layers)");
    for (const auto& kv : n) {
      auto k = kv.first.Scalar();
      if (k == "strategy") {
        auto text = DE_TRY(scalar(kv.second, "layering.strategy"));
        auto s = parse_layer_strategy(text);
        if (!s) return error(kv.second, "{}", s.error().message());
        spec.strategy = *s;
      } else if (k == "max_layers") {
        auto text = DE_TRY(scalar(kv.second, "layering.max_layers"));
        std::size_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 2 ||
            v > 1000)
          return error(kv.second, "'layering.max_layers' must be a number from 2 to 1000, not '{}'",
                       text);
        spec.max_layers = v;
      } else {
        return error(kv.first, "unknown key 'layering.{}' (expected strategy, max_layers)", k);
      }
    }
    return {};
  }

  Result<ImageSpec> image(const YAML::Node& n) const {
    ImageSpec spec;
    if (n.IsNull()) return spec;
    if (!n.IsMap()) return error(n, "'image' must be a mapping");
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return error(kv.first, "'image' keys must be names");
      auto k = kv.first.Scalar();
      const auto& v = kv.second;
      if (k == "base")
        spec.base = resolve_base(DE_TRY(scalar(v, "image.base")), base_dir_);
      else if (k == "name")
        spec.name = DE_TRY(scalar(v, "image.name"));
      else if (k == "prefix") {
        spec.prefix = DE_TRY(scalar(v, "image.prefix"));
        if (!spec.prefix->starts_with("/") || *spec.prefix == "/")
          return error(v, "'image.prefix' must be an absolute path below /, not '{}'",
                       *spec.prefix);
      } else if (k == "platforms")
        spec.platforms = DE_TRY(string_list(v, "image.platforms"));
      else if (k == "entrypoint")
        spec.entrypoint = DE_TRY(command(v, "image.entrypoint"));
      else if (k == "cmd")
        spec.cmd = DE_TRY(command(v, "image.cmd"));
      else if (k == "workdir") {
        spec.workdir = DE_TRY(scalar(v, "image.workdir"));
        if (!spec.workdir->starts_with("/"))
          return error(v, "'image.workdir' must be an absolute path, not '{}'", *spec.workdir);
      } else if (k == "user")
        spec.user = DE_TRY(scalar(v, "image.user"));
      else if (k == "env")
        spec.env = DE_TRY(name_values(v, "image.env"));
      else if (k == "labels")
        spec.labels = DE_TRY(name_values(v, "image.labels"));
      else if (k == "files") {
        if (v.IsNull()) continue;
        if (!v.IsSequence()) return error(v, "'image.files' must be a list");
        for (const auto& item : v) spec.files.push_back(DE_TRY(file(item)));
      } else if (k == "layering")
        DE_TRY(layering(v, spec));
      else
        return error(kv.first,
                     "unknown key 'image.{}' (expected base, name, prefix, platforms, entrypoint, "
                     "cmd, workdir, user, env, labels, files, layering)",
                     k);
    }
    return spec;
  }

 private:
  std::string what_;
  fs::path base_dir_;
};

}  // namespace

std::vector<std::string> command_from_string(std::string_view text) {
  bool blank = std::any_of(text.begin(), text.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (!blank) return {std::string(text)};
  return {"/bin/sh", "-c", std::string(text)};
}

bool is_shell_form(const std::vector<std::string>& command) {
  return command.size() == 3 && command[0] == "/bin/sh" && command[1] == "-c";
}

bool base_is_path(std::string_view base, const fs::path& dir) {
  for (std::string_view start : {"./", "../", "/", "~/"})
    if (base.starts_with(start)) return true;
  for (std::string_view end : {".tar", ".tar.gz", ".tgz", ".tar.zst"})
    if (base.ends_with(end)) return true;
  auto slash = base.find('/');
  if (slash == std::string_view::npos) return false;
  std::error_code ec;
  return fs::is_directory(dir / std::string(base.substr(0, slash)), ec);
}

std::string resolve_base(std::string_view base, const fs::path& dir) {
  if (base == "scratch" || base.starts_with("docker://")) return std::string(base);
  auto relative = [&](const fs::path& p) { return p.is_relative() && !p.string().starts_with("~"); };
  for (std::string_view prefix : {"docker-archive:", "oci:", "oci-archive:"}) {
    if (!base.starts_with(prefix)) continue;
    auto ref = oci::ImageRef::parse(base);
    if (!ref || !relative(ref->path)) return std::string(base);
    ref->path = (dir / ref->path).lexically_normal().string();
    return ref->to_string();
  }
  std::error_code ec;
  if (relative(fs::path(base)) &&
      (base_is_path(base, dir) || fs::exists(dir / std::string(base), ec)))
    return (dir / std::string(base)).lexically_normal().string();
  return std::string(base);
}

namespace {
bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool separator(char c) { return c == '.' || c == '_' || c == '-'; }

// One path component: lowercase alphanumerics joined by valid separators.
std::string name_component(std::string_view text) {
  std::string out;
  std::string run;  // separators (or invalid characters) since the last alphanumeric
  for (char c : text) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (name_char(lower)) {
      if (!run.empty() && !out.empty()) {
        bool valid = run == "." || run == "_" || run == "__" ||
                     run.find_first_not_of('-') == std::string::npos;
        out += valid ? run : "-";
      }
      run.clear();
      out += lower;
    } else {
      run += separator(lower) ? lower : '\x01';
    }
  }
  return out;
}
}  // namespace

std::string reference_name(std::string_view name) {
  std::string out;
  std::string_view rest = name;
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      out = std::string(first);
      rest.remove_prefix(slash + 1);
    }
  }
  std::string path;
  while (true) {
    auto next = rest.find('/');
    std::string component = name_component(rest.substr(0, next));
    if (!component.empty()) path += (path.empty() ? "" : "/") + component;
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  if (path.empty()) path = "environment";
  return out.empty() ? path : out + "/" + path;
}

std::string reference_tag(std::string_view tag) {
  std::string out;
  for (char c : tag) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_';
    if (out.empty() && !word) continue;
    out += (word || c == '.' || c == '-') ? c : '-';
  }
  if (out.size() > 128) out.resize(128);
  return out.empty() ? "latest" : out;
}

Result<EnvironmentImageFile> parse_environment_image(std::string_view yaml, std::string_view what,
                                                     const fs::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: malformed YAML: {}", what, e.mark.line + 1, e.msg);
  }
  Parser p(what, base_dir);
  EnvironmentImageFile out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) return p.error(root, "an environment file must be a mapping");
  try {
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) continue;
      auto k = kv.first.Scalar();
      if (k == "name")
        out.name = DE_TRY(p.scalar(kv.second, "name"));
      else if (k == "variables")
        out.variables = DE_TRY(p.name_values(kv.second, "variables"));
      else if (k == "image")
        out.image = DE_TRY(p.image(kv.second));
    }
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: {}", what, e.mark.line + 1, e.msg);
  }
  return out;
}

Result<EnvironmentImageFile> load_environment_image(const fs::path& path) {
  auto text = DE_TRY(read_file(path, 16 << 20));
  auto dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return parse_environment_image(text, path.string(), dir);
}

}  // namespace de::build
