#include "docker_envs/conda/installer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "conda/package_paths.hpp"
#include "conda/package_plan_cache.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::string_view kLegacyPlaceholder = "/opt/anaconda1anaconda2anaconda3";

}  // namespace

Result<std::string> replace_prefix(std::string_view data, std::string_view placeholder,
                                   std::string_view prefix, PlaceholderMode mode,
                                   std::string_view what) {
  if (placeholder.empty()) return std::string(data);
  std::string out;
  out.reserve(data.size());
  if (mode == PlaceholderMode::Text) {
    std::size_t pos = 0;
    for (auto hit = data.find(placeholder); hit != std::string_view::npos;
         hit = data.find(placeholder, pos)) {
      out.append(data.substr(pos, hit - pos));
      out.append(prefix);
      pos = hit + placeholder.size();
    }
    out.append(data.substr(pos));
    return out;
  }
  if (prefix.size() > placeholder.size())
    return fail(
        Code::InvalidArgument,
        "{}: the prefix '{}' ({} bytes) is longer than the binary placeholder ({} bytes); choose a "
        "shorter prefix",
        what, prefix, prefix.size(), placeholder.size());
  std::size_t pos = 0;
  for (auto hit = data.find(placeholder); hit != std::string_view::npos;
       hit = data.find(placeholder, pos)) {
    out.append(data.substr(pos, hit - pos));
    auto end = data.find('\0', hit);
    if (end == std::string_view::npos) end = data.size();
    std::string_view cstr = data.substr(hit, end - hit);
    auto replaced = DE_TRY(replace_prefix(cstr, placeholder, prefix, PlaceholderMode::Text, what));
    out.append(replaced);
    out.append(cstr.size() - replaced.size(), '\0');
    pos = end;
  }
  out.append(data.substr(pos));
  return out;
}

std::optional<std::string_view> path_in_package(const InstallEntry& entry,
                                                const fs::path& extracted_dir) {
  std::string_view host = entry.host_path.native();
  const std::string& dir = extracted_dir.native();
  if (host.size() <= dir.size() + 1 || !host.starts_with(dir) || host[dir.size()] != '/')
    return std::nullopt;
  return host.substr(dir.size() + 1);
}

Result<std::unique_ptr<Reader>> open_content(const InstallEntry& entry, std::string_view prefix) {
  switch (entry.source) {
    case InstallEntry::Source::Bytes:
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(entry.data));
    case InstallEntry::Source::HostFile: {
      auto r = DE_TRY(FileReader::open(entry.host_path));
      return std::unique_ptr<Reader>(std::move(r));
    }
    case InstallEntry::Source::Rewrite: {
      auto bytes = DE_TRY(read_file(entry.host_path, std::size_t{16} << 30));
      auto out = DE_TRY(
          replace_prefix(bytes, entry.placeholder, prefix, entry.placeholder_mode, entry.path));
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(std::move(out)));
    }
  }
  return fail(Code::Internal, "bad entry source");
}

Result<PythonInfo> python_info_from_record(const PackageRecord& python) {
  std::string_view v = python.version;
  auto dot = v.find('.');
  if (dot == std::string_view::npos)
    return fail(Code::InvalidArgument, "python version '{}' has no minor part", v);
  auto end = v.find_first_not_of("0123456789", dot + 1);
  std::string xy(v.substr(0, end == std::string_view::npos ? v.size() : end));
  PythonInfo info{xy, python.python_site_packages_path};
  if (info.site_packages_path.empty())
    info.site_packages_path = "lib/python" + xy + "/site-packages";
  return info;
}

namespace {

struct PathSpec {
  std::string path;  // normalised, relative to the prefix (before noarch relocation)
  enum class Kind { File, Softlink, Directory } kind = Kind::File;
  std::string placeholder;
  PlaceholderMode mode = PlaceholderMode::Text;
  std::optional<Digest> sha256;
  std::optional<std::uint64_t> size;
};

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

Result<std::vector<PathSpec>> read_paths(const detail::PackageDir& pkg, std::string_view what) {
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
      std::string type = p.value("path_type", "hardlink");
      if (type == "softlink")
        s.kind = PathSpec::Kind::Softlink;
      else if (type == "directory")
        s.kind = PathSpec::Kind::Directory;
      if (auto it = p.find("prefix_placeholder"); it != p.end() && it->is_string())
        s.placeholder = it->get<std::string>();
      if (p.value("file_mode", "text") == "binary") s.mode = PlaceholderMode::Binary;
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

std::string entry_point_script(std::string_view prefix, std::string_view spec,
                               std::string_view what,
                               Result<std::pair<std::string, std::string>>* name_out) {
  // "name = package.module:object.attr"
  auto eq = spec.find('=');
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  if (eq == std::string_view::npos) {
    *name_out = fail(Code::Corruption, "{}: entry point '{}' has no '='", what, spec);
    return {};
  }
  std::string_view name = trim(spec.substr(0, eq));
  std::string_view target = trim(spec.substr(eq + 1));
  auto colon = target.find(':');
  if (name.empty() || colon == std::string_view::npos || name.find('/') != std::string_view::npos ||
      name == "." || name == "..") {
    *name_out =
        fail(Code::Corruption, "{}: entry point '{}' is not 'name = module:function'", what, spec);
    return {};
  }
  std::string_view module = trim(target.substr(0, colon));
  std::string_view func = trim(target.substr(colon + 1));
  std::string_view import_name = func.substr(0, func.find('.'));
  std::string python = std::string(prefix) + "/bin/python";
  std::string shebang = "#!" + python + "\n";
  if (shebang.size() > 127) {
    // Too long for the kernel: let sh find python.
    shebang = "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''\n";
  }
  *name_out = std::pair<std::string, std::string>(std::string(name), "");
  return shebang + fmt::format(
                       "# -*- coding: utf-8 -*-\n"
                       "import re\n"
                       "import sys\n"
                       "\n"
                       "from {} import {}\n"
                       "\n"
                       "if __name__ == '__main__':\n"
                       "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
                       "    sys.exit({}())\n",
                       module, import_name, func);
}

std::string history_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// A package's info/index.json as read, and parsed.
struct IndexJson {
  std::string text;
  PackageRecord record;
};

Result<IndexJson> read_index_json(const fs::path& extracted_dir) {
  std::string what = extracted_dir.filename().string();
  auto pkg = DE_TRY(detail::PackageDir::open(extracted_dir, "package " + what));
  auto index = DE_TRY(pkg.read_file("info/index.json", 64 << 20));
  if (!index) return fail(Code::NotFound, "package {}: no info/index.json", what);
  std::string text = std::move(*index);
  auto record = DE_TRY(parse_index_json(text, what + "/info/index.json"));
  return IndexJson{std::move(text), std::move(record)};
}

struct Planner {
  const InstallOptions& options;
  std::string prefix_rel;  // "opt/conda"
  std::optional<PythonInfo> python;
  InstallPlan plan;
  // Image path -> index in plan.entries; the keys view the entries' own paths.
  std::unordered_map<std::string_view, std::size_t> by_path;
  std::vector<bool> dropped;
  std::optional<detail::PackagePlanCache> cache;

  void add(InstallEntry e) {
    const bool moves = plan.entries.size() == plan.entries.capacity();
    plan.entries.push_back(std::move(e));
    dropped.push_back(false);
    if (moves) {  // the keys viewed the old storage
      by_path.clear();
      for (std::size_t i = 0; i + 1 < plan.entries.size(); ++i)
        if (!dropped[i]) by_path.emplace(plan.entries[i].path, i);
    }
    const std::size_t index = plan.entries.size() - 1;
    const InstallEntry& added = plan.entries[index];
    auto [it, inserted] = by_path.try_emplace(added.path, index);
    if (!inserted) {
      const auto& old = plan.entries[it->second];
      if (old.package != added.package)
        plan.warnings.push_back(
            fmt::format("{}: '{}' from {} replaces the one from {}", added.package, added.path,
                        added.package, old.package.empty() ? "an earlier package" : old.package));
      dropped[it->second] = true;
      it->second = index;
    }
  }

  std::string relocate(const std::string& path, NoarchKind noarch) const {
    if (noarch != NoarchKind::Python) return path;
    if (path.starts_with("site-packages/")) return python->site_packages_path + path.substr(13);
    if (path.starts_with("python-scripts/")) return "bin" + path.substr(14);
    return path;
  }

  // One package's merged record and plan: independent of the other packages, so packages are
  // prepared in parallel and then merged in install order.
  struct Prepared {
    PackageRecord record;
    detail::PackagePlan plan;
  };

  Result<Prepared> prepare(const PackageToInstall& input, const IndexJson& index) const {
    const fs::path& dir = input.extracted_dir;
    const std::string& index_text = index.text;
    PackageRecord rec = index.record;
    // What the caller knows (repodata, lock file) wins over index.json for origin fields. Every
    // field taken from `known` here must be in package_plan_key (package_plan_cache.cpp).
    const PackageRecord& known = input.record;
    if (!known.url.empty()) rec.url = known.url;
    if (!known.channel.empty()) rec.channel = known.channel;
    if (!known.fn.empty()) rec.fn = known.fn;
    if (known.md5) rec.md5 = known.md5;
    if (known.sha256) rec.sha256 = known.sha256;
    if (known.size) rec.size = known.size;
    if (!known.python_site_packages_path.empty())
      rec.python_site_packages_path = known.python_site_packages_path;
    if (rec.fn.empty()) rec.fn = rec.dist_name() + ".conda";
    std::string dist = rec.dist_name();

    if (rec.noarch == NoarchKind::Python && !python)
      return fail(Code::InvalidArgument,
                  "{}: noarch: python package, but the environment has no python "
                  "(add python, or give the python version)",
                  dist);

    std::optional<detail::PackagePlan> planned;
    Digest key;
    if (cache) {
      std::string content_id =
          (known.sha256 ? known.sha256->hex() : std::string()) + "|" + dir.filename().string();
      key = detail::package_plan_key(
          {.content_id = content_id,
           .index_json = index_text,
           .known = &known,
           .requested_spec = input.requested_spec,
           .prefix = options.prefix,
           .site_packages = rec.noarch == NoarchKind::Python ? python->site_packages_path : "",
           .max_rewrite_in_memory = options.max_rewrite_in_memory,
           .verify_files = options.verify_files});
      planned = cache->find(key, dir, dist, prefix_rel);
    }
    if (!planned) {
      planned = DE_TRY(plan_package(input, rec));
      if (cache) {
        if (auto put = cache->put(key, *planned, dir); !put)
          log::debug("not keeping the plan of {}: {}", dist, put.error().to_string());
      }
    }
    return Prepared{std::move(rec), std::move(*planned)};
  }

  void merge(Prepared&& prepared) {
    for (auto& w : prepared.plan.warnings) plan.warnings.push_back(std::move(w));
    for (auto& e : prepared.plan.entries) add(std::move(e));
    plan.records.push_back(std::move(prepared.record));
  }

  // The entries of one package, in install order, and the warnings about it: what the plan
  // cache keeps (see package_plan_cache.hpp for what they depend on).
  Result<detail::PackagePlan> plan_package(const PackageToInstall& input,
                                           const PackageRecord& rec) const {
    const fs::path& dir = input.extracted_dir;
    const std::string dist = rec.dist_name();
    detail::PackagePlan result;
    auto add = [&result](InstallEntry e) { result.entries.push_back(std::move(e)); };
    auto& warnings = result.warnings;

    // Every listed path is resolved inside the package without following links (a payload
    // symlink the list does not mention must not lead to the host's files).
    auto pkg = DE_TRY(detail::PackageDir::open(dir, dist));
    auto specs = DE_TRY(read_paths(pkg, dist));
    json paths_data = json::array();
    json files = json::array();
    std::map<std::pair<dev_t, ino_t>, std::string> inodes;  // hardlinks within the package
    for (const auto& s : specs) {
      if (s.kind == PathSpec::Kind::Directory) {
        std::string rel = relocate(s.path, rec.noarch);
        InstallEntry d;
        d.path = prefix_rel + "/" + rel;
        d.type = InstallEntry::Type::Directory;
        d.mode = 0755;
        d.package = dist;
        paths_data.push_back({{"_path", rel}, {"path_type", "directory"}});
        add(std::move(d));
        continue;
      }
      std::string rel = relocate(s.path, rec.noarch);
      std::string image_path = prefix_rel + "/" + rel;
      fs::path host = dir / s.path;
      if (is_link_script(s.path))
        warnings.push_back(fmt::format(
            "{}: link script '{}' was not run (scripts never run at build time)", dist, rel));
      auto found = DE_TRY(pkg.lstat(s.path));
      if (!found) {
        warnings.push_back(
            fmt::format("{}: '{}' is listed but not in the package; skipped", dist, s.path));
        continue;
      }
      const struct stat& st = *found;
      InstallEntry e;
      e.path = image_path;
      e.package = dist;
      e.mode = st.st_mode & 0777;
      json pd = {{"_path", rel}};
      if (S_ISLNK(st.st_mode)) {
        std::string target = DE_TRY(pkg.read_link(s.path));
        if (!s.placeholder.empty())
          target = DE_TRY(
              replace_prefix(target, s.placeholder, options.prefix, PlaceholderMode::Text, rel));
        e.type = InstallEntry::Type::Symlink;
        e.mode = 0777;
        e.link_target = target;
        pd["path_type"] = "softlink";
      } else if (S_ISREG(st.st_mode)) {
        e.type = InstallEntry::Type::File;
        e.size = static_cast<std::uint64_t>(st.st_size);
        pd["path_type"] = "hardlink";
        if (s.sha256) pd["sha256"] = s.sha256->hex();
        pd["size_in_bytes"] = e.size;
        if (!s.placeholder.empty()) {
          pd["prefix_placeholder"] = s.placeholder;
          pd["file_mode"] = s.mode == PlaceholderMode::Binary ? "binary" : "text";
          if (s.mode == PlaceholderMode::Binary && options.prefix.size() > s.placeholder.size())
            return fail(Code::InvalidArgument,
                        "{}: '{}' has a binary placeholder of {} bytes, shorter than the prefix "
                        "'{}'; choose a "
                        "shorter prefix",
                        dist, rel, s.placeholder.size(), options.prefix);
          if (e.size <= options.max_rewrite_in_memory || s.mode == PlaceholderMode::Text) {
            auto bytes = DE_TRY(pkg.read_file(s.path, std::size_t{16} << 30)).value_or("");
            auto out = DE_TRY(
                replace_prefix(bytes, s.placeholder, options.prefix, s.mode, dist + ": " + rel));
            e.size = out.size();
            if (e.size <= options.max_rewrite_in_memory) {
              e.source = InstallEntry::Source::Bytes;
              e.data = std::move(out);
            } else {
              e.source = InstallEntry::Source::Rewrite;
            }
          } else {
            e.source = InstallEntry::Source::Rewrite;  // binary: same size
          }
          if (e.source == InstallEntry::Source::Rewrite) {
            e.host_path = host;
            e.placeholder = s.placeholder;
            e.placeholder_mode = s.mode;
          }
        } else {
          e.source = InstallEntry::Source::HostFile;
          e.host_path = host;
          if (options.verify_files && s.sha256 && s.kind == PathSpec::Kind::File) {
            auto reader = DE_TRY(FileReader::open(host));
            NullWriter sink;
            HashingWriter hashing(sink);
            DE_TRY(copy(*reader, hashing));
            if (hashing.finish() != *s.sha256)
              return fail(Code::Corruption, "{}: '{}' does not match its paths.json sha256", dist,
                          s.path);
          }
          auto key = std::make_pair(st.st_dev, st.st_ino);
          if (st.st_nlink > 1) {
            auto [it, fresh] = inodes.try_emplace(key, image_path);
            if (!fresh && it->second != image_path) {
              e.type = InstallEntry::Type::Hardlink;
              e.link_target = it->second;
              e.size = 0;
            }
          }
        }
      } else {
        return fail(Code::Unsupported, "{}: '{}' is not a file or symlink", dist, s.path);
      }
      files.push_back(rel);
      paths_data.push_back(std::move(pd));
      add(std::move(e));
    }

    // noarch: python entry points.
    auto link_json = DE_TRY(pkg.read_file("info/link.json", 64 << 20));
    if (rec.noarch == NoarchKind::Python && link_json) {
      const std::string& text = *link_json;
      json link = json::parse(text, nullptr, false);
      if (link.is_discarded())
        return fail(Code::Corruption, "{}: info/link.json is not JSON", dist);
      auto noarch = link.find("noarch");
      if (noarch != link.end() && noarch->is_object()) {
        auto eps = noarch->find("entry_points");
        if (eps != noarch->end() && eps->is_array()) {
          for (const auto& ep : *eps) {
            if (!ep.is_string())
              return fail(Code::Corruption, "{}: info/link.json: entry point is not a string",
                          dist);
            Result<std::pair<std::string, std::string>> name = fail(Code::Internal, "");
            std::string script =
                entry_point_script(options.prefix, ep.get<std::string>(), dist, &name);
            if (!name) return std::unexpected(name.error());
            std::string rel = "bin/" + name->first;
            InstallEntry e;
            e.path = prefix_rel + "/" + rel;
            e.package = dist;
            e.mode = 0755;
            e.source = InstallEntry::Source::Bytes;
            e.size = script.size();
            e.data = std::move(script);
            files.push_back(rel);
            paths_data.push_back({{"_path", rel}, {"path_type", "unix_python_entry_point"}});
            add(std::move(e));
          }
        }
      }
    }

    // conda-meta record.
    json meta = {{"name", rec.name},
                 {"version", rec.version},
                 {"build", rec.build},
                 {"build_string", rec.build},
                 {"build_number", rec.build_number},
                 {"channel", strip_credentials(rec.channel)},
                 {"subdir", rec.subdir},
                 {"depends", rec.depends},
                 {"constrains", rec.constrains},
                 {"license", rec.license},
                 {"fn", rec.fn},
                 {"url", strip_credentials(rec.url)},
                 {"track_features", rec.track_features},
                 {"files", files},
                 {"paths_data", {{"paths", paths_data}, {"paths_version", 1}}},
                 {"link", {{"source", ""}, {"type", 1}}},
                 {"requested_spec", input.requested_spec.empty() ? "" : input.requested_spec},
                 {"extracted_package_dir", ""},
                 {"package_tarball_full_path", ""}};
    if (rec.noarch != NoarchKind::None) meta["noarch"] = std::string(to_string(rec.noarch));
    if (rec.md5) meta["md5"] = rec.md5->hex();
    if (rec.sha256) meta["sha256"] = rec.sha256->hex();
    if (rec.size) meta["size"] = *rec.size;
    if (rec.timestamp) meta["timestamp"] = *rec.timestamp;
    if (!rec.python_site_packages_path.empty())
      meta["python_site_packages_path"] = rec.python_site_packages_path;
    InstallEntry m;
    m.path = prefix_rel + "/conda-meta/" + dist + ".json";
    m.package = dist;
    m.source = InstallEntry::Source::Bytes;
    // A path that is not UTF-8 (legal in a tar) is written with U+FFFD rather than failing.
    m.data = meta.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    m.size = m.data.size();
    add(std::move(m));
    return result;
  }

  // Refuses any entry below a symlink of the plan: writing it would follow the link.
  Status check_symlink_parents() const {
    std::unordered_set<std::string_view> links;
    for (std::size_t i = 0; i < plan.entries.size(); ++i)
      if (!dropped[i] && plan.entries[i].type == InstallEntry::Type::Symlink)
        links.insert(plan.entries[i].path);
    if (links.empty()) return {};
    // Entries share few parent directories: each directory's ancestors are checked once.
    std::unordered_set<std::string_view> clean_dirs;
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
      if (dropped[i]) continue;
      std::string_view p = plan.entries[i].path;
      auto last = p.rfind('/');
      if (last == std::string_view::npos || clean_dirs.contains(p.substr(0, last))) continue;
      for (auto slash = p.find('/'); slash != std::string_view::npos;
           slash = p.find('/', slash + 1)) {
        if (links.contains(p.substr(0, slash)))
          return fail(Code::InvalidArgument,
                      "{}: '{}' would be written through the symlink '{}'; refused",
                      plan.entries[i].package, p, p.substr(0, slash));
      }
      clean_dirs.insert(p.substr(0, last));
    }
    return {};
  }
};

}  // namespace

Result<InstallPlan> plan_environment(std::span<const PackageToInstall> packages,
                                     const InstallOptions& options) {
  std::string prefix = options.prefix;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (!prefix.starts_with("/") || prefix == "/")
    return fail(Code::InvalidArgument, "the prefix '{}' must be an absolute path below /",
                options.prefix);
  auto rel = DE_TRY_CTX(normalize_package_path(prefix.substr(1)), "prefix " + prefix);
  if (rel != prefix.substr(1))
    return fail(Code::InvalidArgument, "the prefix '{}' is not normalised", prefix);
  InstallOptions opts = options;
  opts.prefix = prefix;
  Planner planner{opts, rel, options.python, {}, {}, {}, {}};
  if (!options.plan_cache.empty()) planner.cache.emplace(options.plan_cache);
  // Every index.json is read once: to find python here, and for each package's record.
  std::vector<std::optional<Result<IndexJson>>> indexes(packages.size());
  parallel_for(packages.size(), options.threads,
               [&](std::size_t i) { indexes[i] = read_index_json(packages[i].extracted_dir); });
  if (!planner.python) {
    for (std::size_t i = 0; i < packages.size(); ++i) {
      if (!*indexes[i] || (*indexes[i])->record.name != "python") continue;
      PackageRecord python = (*indexes[i])->record;
      if (!packages[i].record.python_site_packages_path.empty())
        python.python_site_packages_path = packages[i].record.python_site_packages_path;
      planner.python = DE_TRY(python_info_from_record(python));
    }
  }
  std::vector<std::optional<Result<Planner::Prepared>>> prepared(packages.size());
  parallel_for(packages.size(), options.threads, [&](std::size_t i) {
    try {  // an exception must not leave a worker thread
      if (!*indexes[i]) {
        prepared[i] = std::unexpected((*indexes[i]).error());
        return;
      }
      prepared[i] = planner.prepare(packages[i], **indexes[i]);
    } catch (const std::exception& e) {
      prepared[i] = fail(Code::Internal, "planning {}: {}", packages[i].extracted_dir.string(),
                         e.what());
    }
  });
  std::size_t total = 1;  // conda-meta/history
  for (auto& p : prepared) {
    if (!*p) return std::unexpected(std::move(*p).error());
    total += (*p)->plan.entries.size();
  }
  planner.plan.entries.reserve(total);
  planner.dropped.reserve(total);
  planner.by_path.reserve(total);
  for (auto& p : prepared) planner.merge(std::move(**p));

  // conda-meta/history: one revision listing every package.
  std::string history = fmt::format("==> {} <==\n# cmd: {}\n", history_time(options.history_time),
                                    options.history_command);
  for (const auto& r : planner.plan.records) {
    std::string channel = r.channel.empty() ? "<unknown>" : strip_credentials(r.channel);
    history +=
        fmt::format("+{}/{}::{}\n", channel, r.subdir.empty() ? "noarch" : r.subdir, r.dist_name());
  }
  InstallEntry h;
  h.path = rel + "/conda-meta/history";
  h.source = InstallEntry::Source::Bytes;
  h.data = std::move(history);
  h.size = h.data.size();
  planner.add(std::move(h));

  // A hardlink whose target was replaced by a later package would take the new content: make it
  // a plain copy of its own file instead.
  for (std::size_t i = 0; i < planner.plan.entries.size(); ++i) {
    auto& e = planner.plan.entries[i];
    if (planner.dropped[i] || e.type != InstallEntry::Type::Hardlink) continue;
    auto it = planner.by_path.find(e.link_target);
    if (it != planner.by_path.end() && planner.plan.entries[it->second].package == e.package)
      continue;
    e.type = InstallEntry::Type::File;
    e.link_target.clear();
    std::error_code ec;
    e.size = fs::file_size(e.host_path, ec);
    if (ec) return fail(Code::Io, "{}: {}: {}", e.package, e.host_path.string(), ec.message());
  }
  DE_TRY(planner.check_symlink_parents());
  InstallPlan out;
  out.warnings = std::move(planner.plan.warnings);
  out.records = std::move(planner.plan.records);
  for (std::size_t i = 0; i < planner.plan.entries.size(); ++i)
    if (!planner.dropped[i]) out.entries.push_back(std::move(planner.plan.entries[i]));
  return out;
}

namespace {

// Creates directories below a root, refusing symlinks (or anything but a directory) on the way.
// Remembers what it has checked or made, so each directory costs one lstat/mkdir per install.
class DirMaker {
 public:
  // Directories it creates are appended to `made` (in creation order).
  DirMaker(fs::path root, std::vector<fs::path>* made) : root_(std::move(root)), made_(made) {}

  // The parent directories of `rel`.
  Status parents(std::string_view rel) {
    auto slash = rel.rfind('/');
    if (slash == std::string_view::npos) return {};
    return make(rel.substr(0, slash), rel);
  }

  // `dir` and its parents; `why` names the entry they are made for.
  Status make(std::string_view dir, std::string_view why) {
    if (known_.contains(std::string(dir))) return {};
    if (auto slash = dir.rfind('/'); slash != std::string_view::npos)
      DE_TRY(make(dir.substr(0, slash), why));
    fs::path p = root_ / dir;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode))
        return fail(Code::InvalidArgument,
                    "refused: '{}' is not a directory (a symlink?) on the way to '{}'", p.string(),
                    why);
    } else if (::mkdir(p.c_str(), 0755) == 0) {
      made_->push_back(p);
    } else if (errno != EEXIST) {
      return fail_errno("creating " + p.string(), errno);
    }
    known_.emplace(dir);
    return {};
  }

 private:
  fs::path root_;
  std::vector<fs::path>* made_;
  std::unordered_set<std::string> known_;
};

// What one write_to_directory() call created: removed again when it fails, so that a failed
// install leaves ROOT as it found it. (Files it replaced in an existing environment are gone:
// they were removed to make room.)
struct CreatedPaths {
  std::vector<fs::path> dirs;   // in creation order
  std::vector<fs::path> files;  // one per entry ("" for directories and entries not reached)

  void remove() const {
    for (const auto& f : files)
      if (!f.empty()) ::unlink(f.c_str());
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
  }
};

Status write_all(int fd, const char* p, std::size_t n, const fs::path& dest) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail_errno("writing " + dest.string(), errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Copies `src` to the open `out` inside the kernel where it can, else through a buffer.
Status copy_host_file(const fs::path& src, int out, const fs::path& dest) {
  Fd in{::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (in.fd < 0) return fail_errno("opening " + src.string(), errno);
  for (;;) {
    ssize_t n = ::copy_file_range(in.fd, nullptr, out, nullptr, std::size_t{1} << 30, 0);
    if (n > 0) continue;
    if (n == 0) return {};
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) break;
    return fail_errno("copying " + src.string() + " to " + dest.string(), errno);
  }
  // Fallback: copy_file_range refused before copying anything (offsets are still 0).
  std::vector<char> buf(1 << 18);
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading " + src.string(), errno);
    if (n == 0) return {};
    DE_TRY(write_all(out, buf.data(), static_cast<std::size_t>(n), dest));
  }
}

// Writes one File or Symlink entry at `dest` (which does not exist).
Status write_entry(const InstallEntry& e, const fs::path& dest, std::string_view prefix,
                   LinkMode link) {
  if (e.type == InstallEntry::Type::Symlink) {
    if (::symlink(e.link_target.c_str(), dest.c_str()) != 0)
      return fail_errno("creating symlink " + dest.string(), errno);
    return {};
  }
  if (link == LinkMode::Hardlink && e.source == InstallEntry::Source::HostFile) {
    if (::link(e.host_path.c_str(), dest.c_str()) == 0) return {};
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
      return fail_errno("linking " + dest.string() + " to " + e.host_path.string(), errno);
  }
  Fd out{::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (out.fd < 0) return fail_errno("creating " + dest.string(), errno);
  switch (e.source) {
    case InstallEntry::Source::Bytes:
      DE_TRY(write_all(out.fd, e.data.data(), e.data.size(), dest));
      break;
    case InstallEntry::Source::HostFile:
      DE_TRY(copy_host_file(e.host_path, out.fd, dest));
      break;
    case InstallEntry::Source::Rewrite: {
      auto in = DE_TRY_CTX(open_content(e, prefix), e.path);
      std::vector<std::byte> buf(1 << 18);
      for (;;) {
        std::size_t n = DE_TRY(in->read(buf));
        if (n == 0) break;
        DE_TRY(write_all(out.fd, reinterpret_cast<const char*>(buf.data()), n, dest));
      }
      break;
    }
  }
  if (::fchmod(out.fd, e.mode & 0777) != 0) return fail_errno("chmod " + dest.string(), errno);
  return {};
}

}  // namespace

namespace {

Status write_plan(const InstallPlan& plan, const fs::path& root, std::string_view prefix,
                  const WriteOptions& options, CreatedPaths& created) {
  // First, one thread: every directory, and room for every other entry (an existing file at its
  // path is removed). Paths are unique in a plan, so the writes that follow are independent.
  DirMaker dirs(root, &created.dirs);
  std::vector<fs::path>& dests = created.files;
  dests.resize(plan.entries.size());
  std::vector<std::size_t> files, hardlinks;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const auto& e = plan.entries[i];
    auto rel = DE_TRY(normalize_package_path(e.path));
    fs::path dest = root / rel;
    if (e.type == InstallEntry::Type::Directory) {
      DE_TRY(dirs.make(rel, rel));
      continue;
    }
    DE_TRY(dirs.parents(rel));
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode))
        return fail(Code::InvalidArgument, "'{}' is a directory", dest.string());
      if (::unlink(dest.c_str()) != 0) return fail_errno("replacing " + dest.string(), errno);
    }
    dests[i] = std::move(dest);
    (e.type == InstallEntry::Type::Hardlink ? hardlinks : files).push_back(i);
  }
  // Files and symlinks, on several threads: creating files costs mostly system time, which
  // spreads over the cores. The first error in plan order is reported.
  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp<unsigned>(threads, 1, 16);
  if (files.size() < 64) threads = 1;
  std::vector<Status> status(threads);
  std::vector<std::size_t> failed_at(threads, files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  auto worker = [&](unsigned t) {
    for (std::size_t k = next.fetch_add(1); k < files.size() && !stop; k = next.fetch_add(1)) {
      const auto& e = plan.entries[files[k]];
      if (auto s = write_entry(e, dests[files[k]], prefix, options.link); !s) {
        status[t] = std::unexpected(s.error());
        failed_at[t] = k;
        stop = true;
        return;
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
  }
  std::size_t first = std::min_element(failed_at.begin(), failed_at.end()) - failed_at.begin();
  if (!status[first]) return status[first];
  // Hardlinks last: their targets (earlier entries of the same package) exist now.
  for (std::size_t i : hardlinks) {
    auto target = DE_TRY(normalize_package_path(plan.entries[i].link_target));
    if (::link((root / target).c_str(), dests[i].c_str()) != 0)
      return fail_errno("linking " + dests[i].string(), errno);
  }
  return {};
}

}  // namespace

Status write_to_directory(const InstallPlan& plan, const fs::path& root, std::string_view prefix,
                          const WriteOptions& options) {
  CreatedPaths created;
  for (fs::path p = root; !p.empty() && p != p.parent_path(); p = p.parent_path()) {
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) break;
    created.dirs.insert(created.dirs.begin(), p);  // root's missing ancestors, outermost first
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    created.remove();
    return fail(Code::Io, "creating {}: {}", root.string(), ec.message());
  }
  auto status = write_plan(plan, root, prefix, options, created);
  if (!status) created.remove();
  return status;
}

}  // namespace de::conda
