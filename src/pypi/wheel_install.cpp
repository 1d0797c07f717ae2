#include "docker_envs/pypi/wheel_install.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package.hpp"
#include "pypi/entry_points.hpp"
#include "pypi/record.hpp"
#include "pypi/wheel_archive_internal.hpp"

namespace de::pypi {

namespace fs = std::filesystem;
using conda::InstallEntry;

namespace {

constexpr std::size_t kMetadataLimit = 16 << 20;
constexpr std::size_t kScriptLimit = 64 << 20;

// A PEP 508 distribution name: letters and digits, with '.', '_' or '-' inside.
bool valid_name(std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || !alnum(name.front()) || !alnum(name.back())) return false;
  return std::ranges::all_of(
      name, [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// PEP 610: credentials never reach the image.
std::string without_credentials(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::size_t start = scheme + 3;
  std::size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? end : end - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(start + at + 1));
}

std::string direct_url_json(const DirectUrl& d) {
  nlohmann::ordered_json archive_info = nlohmann::ordered_json::object();
  if (d.sha256) {
    archive_info["hash"] = "sha256=" + d.sha256->hex();
    archive_info["hashes"] = {{"sha256", d.sha256->hex()}};
  }
  nlohmann::ordered_json doc;
  doc["archive_info"] = std::move(archive_info);
  doc["url"] = without_credentials(d.url);
  return doc.dump() + "\n";
}

// include/<the directory site-packages is in>: "lib/python3.13t/site-packages" ->
// "include/python3.13t", as the interpreter's sysconfig "include" path is.
std::string include_dir(const conda::PythonInfo& python) {
  std::string_view sp = python.site_packages_path;
  if (sp.starts_with("lib/") && sp.ends_with("/site-packages")) {
    std::string_view dir = sp.substr(4, sp.size() - 4 - 14);
    if (!dir.empty() && dir.find('/') == std::string_view::npos && dir.starts_with("python"))
      return "include/" + std::string(dir);
  }
  return "include/python" + python.version;
}

// One installed file while the plan is made.
struct Planned {
  InstallEntry entry;       // path prefix-relative until the end
  std::string from;         // what put it there (a wheel member, an entry point), for messages
  std::string hash;         // RECORD hash field
};

class WheelPlanner {
 public:
  WheelPlanner(const fs::path& dir, const WheelInstallOptions& options)
      : dir_(dir), options_(options) {}

  Result<WheelPlan> plan(std::string_view wheel_file) {
    auto file = DE_TRY(detail::parse_wheel_file_name(wheel_file));
    if (!options_.prefix.starts_with("/") || options_.prefix == "/")
      return fail(Code::InvalidArgument, "prefix '{}' must be an absolute path below /",
                  options_.prefix);
    prefix_rel_ = DE_TRY_CTX(conda::normalize_package_path(options_.prefix.substr(1)), "prefix");
    site_ = DE_TRY_CTX(conda::normalize_package_path(options_.python.site_packages_path),
                       "the target Python's site-packages");
    auto top = DE_TRY(detail::top_level_directories(dir_));
    dist_info_ = DE_TRY(detail::find_dist_info(top, file.distribution, wheel_file));
    data_dir_ = dist_info_.substr(0, dist_info_.size() - 10) + ".data";

    std::string metadata_text = DE_TRY(read_member(dist_info_ + "/METADATA"));
    auto metadata = detail::parse_headers(metadata_text);
    auto name = detail::header(metadata, "Name");
    auto version = detail::header(metadata, "Version");
    if (!name || !version || version->empty())
      return fail(Code::Corruption, "{}/METADATA has no Name or no Version", dist_info_);
    if (!valid_name(*name))
      return fail(Code::Corruption, "{}/METADATA: Name '{}' is not a distribution name",
                  dist_info_, *name);
    if (detail::canonical_name(*name) != detail::canonical_name(file.distribution))
      return fail(Code::Corruption, "{}/METADATA names '{}', the file name '{}'", dist_info_,
                  *name, file.distribution);
    WheelPlan out{.name = *name, .version = *version, .dist_info = site_ + "/" + dist_info_};
    package_ = out.name + "-" + out.version;
    std::string wheel_text = DE_TRY(read_member(dist_info_ + "/WHEEL"));
    auto info = DE_TRY(detail::parse_wheel_info(wheel_text, dist_info_ + "/WHEEL"));
    if (info.minor > 0)
      out.warnings.push_back(fmt::format(
          "{}: Wheel-Version {}.{} is newer than 1.0; installed as 1.0", wheel_file, info.major,
          info.minor));

    std::string record_text = DE_TRY(read_member(dist_info_ + "/RECORD"));
    auto rows = DE_TRY(detail::parse_record(record_text, dist_info_ + "/RECORD"));
    for (auto& row : rows) {
      auto rel = DE_TRY_CTX(conda::normalize_package_path(row.path),
                            fmt::format("{}/RECORD:{}", dist_info_, row.line));
      record_.emplace(std::move(rel), std::move(row.hash));
    }
    DE_TRY(add_members());
    DE_TRY(add_entry_points());
    DE_TRY(add_generated(dist_info_ + "/INSTALLER", options_.installer + "\n", "INSTALLER"));
    if (options_.requested) DE_TRY(add_generated(dist_info_ + "/REQUESTED", "", "REQUESTED"));
    if (options_.direct_url)
      DE_TRY(add_generated(dist_info_ + "/direct_url.json", direct_url_json(*options_.direct_url),
                           "direct_url.json"));
    DE_TRY(add_record());
    for (auto& [dest, p] : planned_) {
      p.entry.path = prefix_rel_ + "/" + dest;
      out.entries.push_back(std::move(p.entry));
    }
    return out;
  }

 private:
  Result<std::string> read_member(const std::string& rel) const {
    return read_file(dir_ / rel, kMetadataLimit);
  }

  // Where a member of the wheel goes, relative to the prefix.
  Result<std::string> destination(const std::string& rel) const {
    if (!rel.starts_with(data_dir_ + "/")) return site_ + "/" + rel;
    std::string_view rest = std::string_view(rel).substr(data_dir_.size() + 1);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos)
      return fail(Code::Corruption, "member '{}' lies in {} but in no scheme directory", rel,
                  data_dir_);
    std::string_view key = rest.substr(0, slash);
    std::string sub(rest.substr(slash + 1));
    if (key == "purelib" || key == "platlib") return site_ + "/" + sub;
    if (key == "scripts") return "bin/" + sub;
    if (key == "headers") return include_dir(options_.python) + "/" + package_name() + "/" + sub;
    if (key == "data") return sub;
    return fail(Code::Unsupported,
                "member '{}': unknown scheme '{}' (expected purelib, platlib, scripts, headers or "
                "data)",
                rel, key);
  }

  std::string package_name() const { return package_.substr(0, package_.rfind('-')); }

  Status add(std::string dest, Planned p) {
    auto [it, fresh] = planned_.try_emplace(dest, std::move(p));  // `p` kept when not placed
    if (!fresh)
      return fail(Code::Corruption, "{} and {} are both installed as {}", it->second.from,
                  p.from, dest);
    return {};
  }

  Status add_members() {
    std::error_code ec;
    std::vector<fs::path> all;
    for (fs::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
      all.push_back(it->path());
    if (ec) return fail(Code::Io, "listing {}: {}", dir_.string(), ec.message());
    std::ranges::sort(all);
    for (const auto& host : all) {
      struct stat st;
      if (::lstat(host.c_str(), &st) != 0) return fail_errno("reading " + host.string(), errno);
      std::string rel = host.lexically_relative(dir_).generic_string();
      if (S_ISDIR(st.st_mode)) continue;
      if (!S_ISREG(st.st_mode))
        return fail(Code::InvalidArgument, "member '{}' is not a regular file; refused", rel);
      if (rel == dist_info_ + "/RECORD" || rel == dist_info_ + "/RECORD.jws" ||
          rel == dist_info_ + "/RECORD.p7s")
        continue;
      auto hash = record_.find(rel);
      if (hash == record_.end() || hash->second.empty())
        return fail(Code::Corruption,
                    "member '{}' is not listed in RECORD with a hash (not extracted by "
                    "extract_wheel?)",
                    rel);
      std::string mapped = DE_TRY(destination(rel));
      std::string dest = DE_TRY(conda::normalize_package_path(mapped));
      bool script = dest.starts_with("bin/") && rel.starts_with(data_dir_ + "/scripts/");
      Planned p{.from = "member '" + rel + "'", .hash = hash->second};
      p.entry.type = InstallEntry::Type::File;
      p.entry.mode = script ? 0755 : ((st.st_mode & 0111) ? 0755 : 0644);
      p.entry.source = InstallEntry::Source::HostFile;
      p.entry.host_path = host.native();
      p.entry.size = static_cast<std::uint64_t>(st.st_size);
      p.entry.package = package_;
      if (script) DE_TRY(fix_script(host, p));
      DE_TRY(add(std::move(dest), std::move(p)));
    }
    return {};
  }

  // `#!python` / `#!pythonw` -> the target's interpreter (the binary distribution format spec).
  Status fix_script(const fs::path& host, Planned& p) const {
    auto in = DE_TRY(FileReader::open(host));
    std::string head(8, '\0');
    std::size_t got = DE_TRY(in->read(std::as_writable_bytes(std::span(head.data(), head.size()))));
    if (got < 8 || head != "#!python") return {};
    auto text = DE_TRY(read_file(host, kScriptLimit));
    auto eol = text.find('\n');
    std::string body = eol == std::string::npos ? std::string() : text.substr(eol + 1);
    std::string fixed = conda::python_shebang(options_.prefix) + body;
    p.hash = detail::record_hash(Digest::of(fixed));
    p.entry.source = InstallEntry::Source::Bytes;
    p.entry.host_path.clear();
    p.entry.size = fixed.size();
    p.entry.data = std::move(fixed);
    return {};
  }

  // A file made here (not taken from the wheel), hashed for RECORD unless it is RECORD itself.
  Planned generated(std::string from, std::string content, std::uint32_t mode,
                    bool hashed = true) const {
    Planned p{.from = std::move(from)};
    if (hashed) p.hash = detail::record_hash(Digest::of(content));
    p.entry.type = InstallEntry::Type::File;
    p.entry.mode = mode;
    p.entry.source = InstallEntry::Source::Bytes;
    p.entry.size = content.size();
    p.entry.data = std::move(content);
    p.entry.package = package_;
    return p;
  }

  Status add_generated(const std::string& dest, std::string content, std::string from) {
    return add(site_ + "/" + dest, generated(std::move(from), std::move(content), 0644));
  }

  Status add_entry_points() {
    std::string rel = dist_info_ + "/entry_points.txt";
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(dir_ / rel, ec))) return {};
    auto text = DE_TRY(read_member(rel));
    auto points =
        DE_TRY(detail::parse_entry_points(text, rel, {"console_scripts", "gui_scripts"}));
    for (const auto& ep : points) {
      if (ep.attr.empty())
        return fail(Code::Corruption, "{}:{}: script '{}' names no function (module:function)",
                    rel, ep.line, ep.name);
      DE_TRY(add("bin/" + ep.name,
                 generated(fmt::format("{} entry point '{}'", ep.group, ep.name),
                           conda::python_entry_point_script(options_.prefix, ep.module, ep.attr),
                           0755)));
    }
    return {};
  }

  // RECORD as installed: paths relative to site-packages, as pip writes them.
  Status add_record() {
    std::vector<detail::RecordRow> rows;
    fs::path site(site_);
    for (const auto& [dest, p] : planned_)
      rows.push_back({.path = fs::path(dest).lexically_relative(site).generic_string(),
                      .hash = p.hash,
                      .size = p.entry.size});
    rows.push_back({.path = dist_info_ + "/RECORD"});
    return add(site_ + "/" + dist_info_ + "/RECORD",
               generated("RECORD", detail::format_record(std::move(rows)), 0644, false));
  }

  const fs::path& dir_;
  const WheelInstallOptions& options_;
  std::string prefix_rel_, site_, dist_info_, data_dir_, package_;
  std::map<std::string, std::string> record_;  // member -> RECORD hash field
  std::map<std::string, Planned> planned_;      // prefix-relative destination -> what goes there
};

}  // namespace

Status claim_paths(const std::vector<InstallEntry>& entries, const std::string& what,
                   std::map<std::string, std::string>& taken) {
  for (const auto& e : entries) {
    auto [it, fresh] = taken.try_emplace(e.path, what);
    if (!fresh)
      return fail(Code::InvalidArgument,
                  "{} would replace /{}, which {} installs (pip never overwrites a file another "
                  "package installs)",
                  what, e.path, it->second);
  }
  return {};
}

Result<WheelPlan> plan_wheel(const fs::path& extracted, std::string_view wheel_file,
                             const WheelInstallOptions& options) {
  WheelPlanner planner(extracted, options);
  return DE_TRY_CTX(planner.plan(wheel_file), fmt::format("installing wheel {}", wheel_file));
}

}  // namespace de::pypi
