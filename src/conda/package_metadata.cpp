// What a package lists: info/paths.json, or the legacy info/files and info/has_prefix.

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "conda/installer_internal.hpp"
#include "conda/package_paths.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda::detail {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::string_view kLegacyPlaceholder = "/opt/anaconda1anaconda2anaconda3";

std::vector<std::string> split_quoted(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string token;
    if (line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') token += line[i++];
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') token += line[i++];
    }
    out.push_back(std::move(token));
  }
  return out;
}

}  // namespace

Result<std::vector<PathSpec>> read_paths(const PackageDir& pkg, std::string_view what) {
  const fs::path& dir = pkg.path();
  std::vector<PathSpec> out;
  std::error_code ec;
  if (auto paths_json = DE_TRY(pkg.read_file("info/paths.json", 64 << 20))) {
    const std::string& text = *paths_json;
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("paths") ||
        !doc["paths"].is_array())
      return fail(Code::Corruption, "{}: info/paths.json is not a paths document", what);
    for (const auto& p : doc["paths"]) {
      if (!p.is_object() || !p.contains("_path") || !p["_path"].is_string())
        return fail(Code::Corruption, "{}: info/paths.json has an entry without _path", what);
      PathSpec s;
      s.path = DE_TRY_CTX(normalize_package_path(p["_path"].get<std::string>()),
                          fmt::format("{}: info/paths.json", what));
      // json::value() throws when the field is not a string: read it only when it is one.
      auto string_field = [&](const char* key, const char* absent) {
        auto it = p.find(key);
        return it != p.end() && it->is_string() ? it->get<std::string>() : std::string(absent);
      };
      std::string type = string_field("path_type", "hardlink");
      if (type == "softlink")
        s.kind = PathSpec::Kind::Softlink;
      else if (type == "directory")
        s.kind = PathSpec::Kind::Directory;
      if (auto it = p.find("prefix_placeholder"); it != p.end() && it->is_string())
        s.placeholder = it->get<std::string>();
      if (string_field("file_mode", "text") == "binary") s.mode = PlaceholderMode::Binary;
      if (auto it = p.find("sha256"); it != p.end() && it->is_string()) {
        if (auto d = Digest::from_hex(it->get<std::string>())) s.sha256 = *d;
      }
      if (auto it = p.find("size_in_bytes"); it != p.end() && it->is_number_unsigned())
        s.size = it->get<std::uint64_t>();
      out.push_back(std::move(s));
    }
    return out;
  }
  // Legacy: info/files lists the paths; info/has_prefix the ones with a placeholder.
  std::map<std::string, std::pair<std::string, PlaceholderMode>> prefixed;
  if (auto has_prefix = DE_TRY(pkg.read_file("info/has_prefix", 64 << 20))) {
    const std::string& text = *has_prefix;
    std::size_t line_no = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      auto nl = text.find('\n', pos);
      std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      ++line_no;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      if (line.empty()) continue;
      auto fields = split_quoted(line);
      std::string path;
      std::string placeholder(kLegacyPlaceholder);
      PlaceholderMode mode = PlaceholderMode::Text;
      if (fields.size() == 1) {
        path = fields[0];
      } else if (fields.size() == 3) {
        placeholder = fields[0];
        if (fields[1] == "binary")
          mode = PlaceholderMode::Binary;
        else if (fields[1] != "text")
          return fail(Code::Corruption, "{}: info/has_prefix line {}: unknown mode '{}'", what,
                      line_no, fields[1]);
        path = fields[2];
      } else {
        return fail(Code::Corruption, "{}: info/has_prefix line {}: expected 1 or 3 fields", what,
                    line_no);
      }
      auto norm = DE_TRY_CTX(normalize_package_path(path),
                             fmt::format("{}: info/has_prefix line {}", what, line_no));
      prefixed[norm] = {placeholder, mode};
    }
  }
  auto info_files = DE_TRY(pkg.read_file("info/files", 64 << 20));
  if (!info_files) {
    // Neither paths.json nor info/files (hand-made packages): everything outside info/, sorted.
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::string rel = it->path().lexically_relative(dir).generic_string();
      if (rel == "info" || rel.starts_with("info/")) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink() || !it->is_directory()) found.push_back(rel);
    }
    if (ec) return fail(Code::Io, "{}: listing {}: {}", what, dir.string(), ec.message());
    std::sort(found.begin(), found.end());
    for (auto& rel : found) {
      PathSpec s;
      s.path = std::move(rel);
      if (auto it = prefixed.find(s.path); it != prefixed.end()) {
        s.placeholder = it->second.first;
        s.mode = it->second.second;
      }
      out.push_back(std::move(s));
    }
    return out;
  }
  {
    const std::string& text = *info_files;
    std::size_t line_no = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      auto nl = text.find('\n', pos);
      std::string line = text.substr(pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      ++line_no;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      PathSpec s;
      s.path = DE_TRY_CTX(normalize_package_path(line),
                          fmt::format("{}: info/files line {}", what, line_no));
      if (auto st = DE_TRY(pkg.lstat(s.path)); st && S_ISLNK(st->st_mode))
        s.kind = PathSpec::Kind::Softlink;
      if (auto it = prefixed.find(s.path); it != prefixed.end()) {
        s.placeholder = it->second.first;
        s.mode = it->second.second;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

bool is_link_script(std::string_view path) {
  auto slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (dir != "bin" && dir != "Scripts" && dir != "python-scripts") return false;
  if (!name.starts_with(".")) return false;
  for (auto kind : {"-post-link.", "-pre-link.", "-pre-unlink."})
    if (name.find(kind) != std::string_view::npos) return true;
  return false;
}

}  // namespace de::conda::detail
