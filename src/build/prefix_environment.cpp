// read_prefix_environment(): PREFIX/conda-meta/*.json become the packages of an image.
#include "docker_envs/build/prefix_environment.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/install_order.hpp"

namespace de::build {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The paths one record owns: `files` and `paths_data.paths[]._path`, relative to the prefix.
void add_owned(const json& doc, std::set<std::string>& owned) {
  if (auto files = doc.find("files"); files != doc.end() && files->is_array())
    for (const auto& f : *files)
      if (f.is_string()) owned.insert(fs::path(f.get<std::string>()).lexically_normal().string());
  auto pd = doc.find("paths_data");
  if (pd == doc.end() || !pd->is_object()) return;
  auto paths = pd->find("paths");
  if (paths == pd->end() || !paths->is_array()) return;
  for (const auto& p : *paths)
    if (p.is_object())
      if (auto path = p.find("_path"); path != p.end() && path->is_string())
        owned.insert(fs::path(path->get<std::string>()).lexically_normal().string());
}

bool is_noise(const fs::path& rel) {
  auto first = rel.begin()->string();
  if (first == "conda-meta" || first == "pkgs" || first == "envs") return true;
  if (rel.extension() == ".pyc") return true;
  for (const auto& part : rel)
    if (part == "__pycache__") return true;
  return false;
}

Result<std::vector<std::string>> unowned_files(const fs::path& prefix,
                                               const std::set<std::string>& owned) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(prefix, fs::directory_options::none, ec), end;
  if (ec) return fail(Code::Io, "listing {}: {}", prefix.string(), ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(Code::Io, "listing {}: {}", prefix.string(), ec.message());
    fs::path rel = it->path().lexically_relative(prefix);
    if (is_noise(rel)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;  // not followed through links
    if (!owned.contains(rel.string())) out.push_back(rel.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<PrefixEnvironment> read_prefix_environment(const fs::path& prefix) {
  std::error_code ec;
  fs::path meta = prefix / "conda-meta";
  if (!fs::is_directory(meta, ec))
    return fail(Code::NotFound, "{}: no conda-meta directory, so not a conda environment",
                prefix.string());
  std::vector<fs::path> records;
  for (const auto& e : fs::directory_iterator(meta, ec))
    if (e.path().extension() == ".json" && e.is_regular_file(ec)) records.push_back(e.path());
  if (ec) return fail(Code::Io, "listing {}: {}", meta.string(), ec.message());
  std::sort(records.begin(), records.end());

  PrefixEnvironment out;
  std::set<std::string> owned, subdirs;
  std::vector<conda::PackageRecord> packages;
  for (const auto& file : records) {
    std::string what = file.string();
    auto text = DE_TRY(read_file(file, 64 << 20));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return fail(Code::InvalidArgument, "{}: not a JSON object", what);
    auto record = DE_TRY(conda::parse_index_json(text, what));
    if (record.url.empty())
      return fail(Code::InvalidArgument, "{}: package {} has no url to fetch it from again", what,
                  record.dist_name());
    if (!record.md5 && !record.sha256)
      return fail(Code::InvalidArgument, "{}: package {} has no md5 or sha256 to verify it by",
                  what, record.dist_name());
    if (record.fn.empty()) record.fn = record.url.substr(record.url.rfind('/') + 1);
    if (!record.subdir.empty() && record.subdir != "noarch") subdirs.insert(record.subdir);
    add_owned(doc, owned);
    packages.push_back(std::move(record));
  }
  if (subdirs.size() > 1)
    return fail(Code::InvalidArgument, "{}: records for several platforms ({})", meta.string(),
                fmt::join(subdirs, ", "));
  if (!subdirs.empty()) out.platform = *subdirs.begin();
  out.packages = conda::install_order(std::move(packages));
  out.unowned = DE_TRY(unowned_files(prefix, owned));
  return out;
}

std::string unowned_files_warning(const fs::path& prefix, const std::vector<std::string>& unowned,
                                  std::size_t shown) {
  if (unowned.empty()) return {};
  std::size_t n = std::min(shown, unowned.size());
  std::vector<std::string> first(unowned.begin(), unowned.begin() + static_cast<long>(n));
  std::string more =
      unowned.size() > n ? fmt::format(" and {} more", unowned.size() - n) : std::string();
  return fmt::format(
      "{}: {} file(s) that no package record owns are not in the image (pip installs or edits? "
      "add them with --file, or install them as packages): {}{}",
      prefix.string(), unowned.size(), fmt::join(first, ", "), more);
}

}  // namespace de::build
