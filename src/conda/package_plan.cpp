// One package's plan: an entry per listed path (placeholders rewritten, hardlinks within the
// package kept), its noarch: python entry points, and its conda-meta record.

#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>

#include "conda/installer_internal.hpp"
#include "conda/package_paths.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package.hpp"

namespace de::conda::detail {

namespace fs = std::filesystem;
using json = nlohmann::json;

Result<PackagePlan> plan_package(const PackageToInstall& input, const PackageRecord& rec,
                                 const PlanContext& ctx) {
  const InstallOptions& options = ctx.options;
  const std::string& prefix_rel = ctx.prefix_rel;
  auto relocate = [&](const std::string& path) {
    return rec.noarch == NoarchKind::Python ? relocate_noarch_python(path, *ctx.python) : path;
  };
  const fs::path& dir = input.extracted_dir;
  const std::string dist = rec.dist_name();
  PackagePlan result;
  auto add = [&result](InstallEntry e) { result.entries.push_back(std::move(e)); };
  auto& warnings = result.warnings;

  // Every listed path is resolved inside the package without following links (a payload symlink
  // the list does not mention must not lead to the host's files).
  auto pkg = DE_TRY(PackageDir::open(dir, dist));
  auto specs = DE_TRY(read_paths(pkg, dist));
  json paths_data = json::array();
  json files = json::array();
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;  // hardlinks within the package
  for (const auto& s : specs) {
    if (s.kind == PathSpec::Kind::Directory) {
      std::string rel = relocate(s.path);
      InstallEntry d;
      d.path = prefix_rel + "/" + rel;
      d.type = InstallEntry::Type::Directory;
      d.mode = 0755;
      d.package = dist;
      paths_data.push_back({{"_path", rel}, {"path_type", "directory"}});
      add(std::move(d));
      continue;
    }
    std::string rel = relocate(s.path);
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
          e.host_path = host.native();
          e.placeholder = s.placeholder;
          e.placeholder_mode = s.mode;
        }
      } else {
        e.source = InstallEntry::Source::HostFile;
        e.host_path = host.native();
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
  if (rec.noarch == NoarchKind::Python) {
    for (auto& [name, script] : DE_TRY(python_entry_points(pkg, options.prefix, dist))) {
      std::string rel = "bin/" + name;
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

}  // namespace de::conda::detail
