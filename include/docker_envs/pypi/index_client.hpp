// Reading package indexes: project pages from simple-API indexes (`--index-url`,
// `--extra-index-url`; PEP 503 HTML or PEP 691 JSON by content negotiation) and from
// `--find-links` locations (a local directory, or an HTML page of links), and PEP 658 core
// metadata files, so that resolution needs no wheel download.
//
// The HTTP side is an IndexTransport, one small interface: make_index_transport() runs it on the
// library's HTTP layer (the private libcurl wrapper and the one retry policy the conda and registry
// clients use: transient failures retried with backoff, redirects followed); tests substitute their
// own. URLs in errors are redacted (credentials never shown).
//
// Both are thread-safe: the resolver fetches the pages and metadata files it will need on several
// threads at once (ResolveRequest::fetch_threads), each request cancellable (de::Cancellation)
// when another one of the batch failed.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/pypi/metadata.hpp"
#include "docker_envs/pypi/resolver.hpp"
#include "docker_envs/pypi/simple_api.hpp"

namespace de::pypi {

struct IndexResponse {
  long status = 0;
  std::string content_type;
  std::string body;
  std::string url;  // after redirects: what relative links resolve against
};

class IndexTransport {
 public:
  virtual ~IndexTransport() = default;
  // GET `url` sending `accept`. Any HTTP status is a response; transfer failures are errors.
  // Called from several threads at once. When `cancel` is cancelled the request (and its waits
  // before retries) may give up early with an error.
  virtual Result<IndexResponse> get(const std::string& url, std::string_view accept,
                                    const Cancellation* cancel = nullptr) = 0;
};

struct IndexTransportOptions {
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds stall_timeout{60};
  std::string extra_ca_file;                   // a PEM bundle trusted besides the system store
  std::size_t max_body = std::size_t{64} << 20;  // project pages and metadata files
  // When set, http(s) answers that carry an ETag or Last-Modified are kept under
  // <cache_dir>/pypi-http/ (file names are hashes of URL and Accept, so no credential reaches the
  // file system) and revalidated with If-None-Match / If-Modified-Since: an unchanged page costs a
  // 304. Answers that came through a redirect are not kept. Entries are written temp + rename.
  std::filesystem::path cache_dir;
};

// http(s):// over the library's HTTP layer, file:// from the file system (status 200 or 404).
std::unique_ptr<IndexTransport> make_index_transport(const IndexTransportOptions& options = {});

struct IndexSources {
  // Simple API roots, e.g. "https://pypi.org/simple"; the project page is <root>/<name>/.
  std::vector<std::string> index_urls;
  // Directories (a path or file:// URL) or pages (http(s)://, file://...html) of distribution
  // links; every file whose name is of the project counts.
  std::vector<std::string> find_links;
};

class IndexClient final : public DistributionSource {
 public:
  IndexClient(IndexSources sources, IndexTransport& transport);

  // DistributionSource: files(), and core_metadata() falling back to the METADATA inside the
  // wheel (downloaded, its sha256 checked against the index's) when the index serves none.
  Result<std::vector<DistributionFile>> project_files(std::string_view project,
                                                      const Cancellation* cancel) override {
    return files(project, cancel);
  }
  Result<CoreMetadata> file_metadata(const DistributionFile& file,
                                     const Cancellation* cancel) override;

  // Every file of `project` (any spelling) from every source, in source order (indexes, then
  // find-links). A 404 from an index means the project is not there. Errors name the URL.
  Result<std::vector<DistributionFile>> files(std::string_view project,
                                              const Cancellation* cancel = nullptr);

  // The core metadata of a file from its PEP 658 `.metadata` URL, checked against the hash the
  // index gave for it (Corruption on a mismatch). NotFound when the index serves none
  // (file.has_core_metadata false, or 404): the caller then reads METADATA from the wheel.
  Result<CoreMetadata> core_metadata(const DistributionFile& file,
                                     const Cancellation* cancel = nullptr);

 private:
  Result<std::vector<DistributionFile>> index_files(const std::string& root,
                                                    const std::string& project,
                                                    const Cancellation* cancel);
  Result<std::vector<DistributionFile>> find_links_files(const std::string& location,
                                                         const Cancellation* cancel);

  IndexSources sources_;
  IndexTransport& transport_;
  std::mutex cache_mutex_;  // guards cache_
  std::map<std::string, std::vector<DistributionFile>> cache_;  // by normalised name
  std::mutex links_mutex_;  // held while a find-links location is listed: each is read once
  std::map<std::string, std::vector<DistributionFile>> links_;  // find-links location -> files
};

// The core metadata inside a wheel's bytes: its top-level `*.dist-info/METADATA` (`source` names
// the wheel in errors). Corruption when the zip cannot be read or holds no METADATA.
Result<CoreMetadata> read_wheel_metadata(std::string_view wheel, std::string_view source);

// Whether `file` belongs to the project `normalized` (its wheel or sdist file name says so).
bool file_is_of_project(const DistributionFile& file, std::string_view normalized);

}  // namespace de::pypi
