#include "docker_envs/pypi/index_client.hpp"
#include "docker_envs/base/text.hpp"

#include <algorithm>
#include <filesystem>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/dist_filename.hpp"
#include "pypi/simple_internal.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace {

// An error for a non-2xx answer from an index.
std::unexpected<Error> http_error(const std::string& url, long status) {
  if (status == 401 || status == 403)
    return fail(Code::Auth, "{}: HTTP {} (access denied; are credentials needed?)", redact_url(url),
                status);
  return fail(Code::Network, "{}: HTTP {}", redact_url(url), status);
}

}  // namespace

bool file_is_of_project(const DistributionFile& file, std::string_view normalized) {
  if (file.filename.size() > 4 && iequals(file.filename.substr(file.filename.size() - 4), ".whl")) {
    auto w = WheelFilename::parse(file.filename);
    return w && normalize_name(w->name) == normalized;
  }
  if (is_sdist_filename(file.filename)) return SdistFilename::parse(file.filename, normalized).has_value();
  return false;
}

IndexClient::IndexClient(IndexSources sources, IndexTransport& transport)
    : sources_(std::move(sources)), transport_(transport) {}

Result<std::vector<DistributionFile>> IndexClient::files(std::string_view project,
                                                         const Cancellation* cancel) {
  std::string key = normalize_name(project);
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  std::vector<DistributionFile> out;
  for (const auto& root : sources_.index_urls) {
    auto files = DE_TRY(index_files(root, key, cancel));
    out.insert(out.end(), std::make_move_iterator(files.begin()),
               std::make_move_iterator(files.end()));
  }
  for (const auto& location : sources_.find_links) {
    std::lock_guard lock(links_mutex_);
    auto it = links_.find(location);
    if (it == links_.end())
      it = links_.emplace(location, DE_TRY_CTX(find_links_files(location, cancel),
                                               fmt::format("reading --find-links {}",
                                                           redact_url(location))))
               .first;
    for (const auto& f : it->second)
      if (file_is_of_project(f, key)) out.push_back(f);
  }
  std::lock_guard lock(cache_mutex_);
  cache_.emplace(key, out);
  return out;
}

Result<std::vector<DistributionFile>> IndexClient::index_files(const std::string& root,
                                                               const std::string& project,
                                                               const Cancellation* cancel) {
  std::string base = root;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + "/" + project + "/";
  auto ctx = [&] { return fmt::format("reading the index page of '{}'", project); };
  IndexResponse r = DE_TRY_CTX(transport_.get(url, kSimpleAccept, cancel), ctx());
  if (r.status == 404 || r.status == 410) return std::vector<DistributionFile>{};
  if (r.status < 200 || r.status >= 300) return std::unexpected(http_error(url, r.status).error().add_context(ctx()));
  ProjectPage page = DE_TRY_CTX(parse_project_page(r.body, r.content_type, r.url), ctx());
  std::vector<DistributionFile> out;
  for (auto& f : page.files)
    if (file_is_of_project(f, project)) out.push_back(std::move(f));
  return out;
}

Result<std::vector<DistributionFile>> IndexClient::find_links_files(const std::string& location,
                                                                    const Cancellation* cancel) {
  if (location.starts_with("http://") || location.starts_with("https://")) {
    IndexResponse r = DE_TRY(transport_.get(location, "text/html", cancel));
    if (r.status < 200 || r.status >= 300) return http_error(location, r.status);
    return DE_TRY(parse_simple_html(r.body, r.url)).files;
  }
  std::string path = location.starts_with("file://") ? detail::file_url_path(location) : location;
  if (path.empty())
    return fail(Code::InvalidArgument, "'{}' is neither a directory, a file nor an http(s) URL",
                redact_url(location));
  std::error_code ec;
  std::filesystem::path dir(path);
  if (std::filesystem::is_directory(dir, ec)) {
    std::vector<DistributionFile> out;
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
    if (ec) return fail_errno(fmt::format("listing {}", path), ec.value());
    std::sort(names.begin(), names.end());
    std::string base = "file://" + percent_encode(std::filesystem::absolute(dir).lexically_normal().string(), "/");
    if (!base.ends_with('/')) base += '/';
    for (const auto& name : names) {
      DistributionFile f;
      if (detail::set_link(f, base, percent_encode(name, "/"))) out.push_back(std::move(f));
    }
    return out;
  }
  if (std::filesystem::is_regular_file(dir, ec)) {
    std::string body = DE_TRY(read_file(dir, detail::kMaxPageBytes));
    std::string page_url =
        "file://" + percent_encode(std::filesystem::absolute(dir).lexically_normal().string(), "/");
    return DE_TRY(parse_simple_html(body, page_url)).files;
  }
  return fail(Code::NotFound, "'{}' does not exist", path);
}

Result<CoreMetadata> IndexClient::core_metadata(const DistributionFile& file,
                                                const Cancellation* cancel) {
  if (!file.has_core_metadata)
    return fail(Code::NotFound, "{}: the index serves no metadata file for it", file.filename);
  std::string url = file.core_metadata_url();
  auto ctx = [&] { return fmt::format("reading the metadata of {}", file.filename); };
  IndexResponse r = DE_TRY_CTX(transport_.get(url, "*/*", cancel), ctx());
  if (r.status == 404 || r.status == 410)
    return fail(Code::NotFound, "{}: no metadata file at {}", file.filename, redact_url(url));
  if (r.status < 200 || r.status >= 300)
    return std::unexpected(http_error(url, r.status).error().add_context(ctx()));
  if (auto it = file.core_metadata_hashes.find("sha256"); it != file.core_metadata_hashes.end()) {
    std::string got = Digest::of(r.body).hex();
    if (got != it->second)
      return fail(Code::Corruption, "{}: sha256 {} does not match the index's {}", redact_url(url),
                  got, it->second);
  }
  CoreMetadata m = DE_TRY_CTX(CoreMetadata::parse(r.body, redact_url(url)), ctx());
  // The metadata must describe the file it came with.
  if (auto w = WheelFilename::parse(file.filename);
      w && (normalize_name(w->name) != normalize_name(m.name) || w->version != m.version))
    return fail(Code::Corruption, "{}: the metadata describes {} {}, not this file",
                redact_url(url), m.name, m.version.to_string());
  return m;
}

}  // namespace de::pypi
