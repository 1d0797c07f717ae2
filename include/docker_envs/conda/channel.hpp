// Conda channels: where packages come from.
//
// Channel::parse accepts
//  * a name: "conda-forge", "pytorch/label/nightly" -> <channel_alias>/<name>
//    (alias default https://conda.anaconda.org);
//  * a URL: "https://repo.anaconda.com/pkgs/main", optionally with a token segment
//    "/t/<TOKEN>/" after the host or user:password credentials;
//  * a local path ("/srv/channel", "./channel", "~/channel") or "file://" URL.
// A trailing known subdir ("…/conda-forge/linux-64") is stripped and remembered as the only subdir
// to use. Tokens and passwords are kept for fetching (url()) but never shown: to_string() and
// name() redact them ("/t/***/", "user:***@").
//
// Fetching goes through the small Fetcher interface: FileFetcher (file://) here, HttpFetcher
// (http_fetcher.hpp) for http(s), and make_fetcher() for both. fetch_repodata() caches HTTP
// repodata under a cache directory (conditional requests, the .zst variant; see below).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/conda/repodata.hpp"

namespace de::conda {

// The platforms (subdirs) we build images for, and "noarch".
inline constexpr std::array<std::string_view, 6> kPlatforms = {
    "linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64"};
// Every subdir name conda knows (used to recognise a subdir at the end of a channel URL).
bool is_known_subdir(std::string_view subdir);
// Accepts one of kPlatforms; InvalidArgument naming the accepted ones otherwise.
Result<std::string> parse_platform(std::string_view text);

struct ChannelOptions {
  std::string channel_alias = "https://conda.anaconda.org";
  // Base for relative local paths; empty: the current directory.
  std::filesystem::path working_directory;
};

class Channel {
 public:
  static Result<Channel> parse(std::string_view text, const ChannelOptions& options = {});

  // Display name: the name below the alias ("conda-forge") for alias channels, otherwise the
  // redacted URL. Used as PackageRecord::channel.
  const std::string& name() const { return name_; }
  // Full base URL including any token or credentials: only for fetching, never for printing.
  const std::string& url() const { return url_; }
  // The redacted URL ("https://conda.anaconda.org/t/***/private").
  std::string to_string() const;
  bool is_local() const { return url_.starts_with("file://"); }
  bool has_token() const { return !token_.empty(); }
  // A subdir fixed by the channel text ("…/linux-64"), if any.
  const std::optional<std::string>& fixed_subdir() const { return fixed_subdir_; }

  // "<url>/<subdir>", with the token (for fetching).
  std::string subdir_url(std::string_view subdir) const;
  // The subdirs to read for a target platform: {platform, "noarch"}, or just the fixed subdir.
  std::vector<std::string> subdirs(std::string_view platform) const;

  friend bool operator==(const Channel& a, const Channel& b) { return a.url_ == b.url_; }

 private:
  std::string name_, url_, token_;
  std::optional<std::string> fixed_subdir_;
};

// URL redaction lives in base (docker_envs/base/redact.hpp), one home for every module.
using de::redact_url;
using de::strip_credentials;

// A conditional request: the validators of a copy the caller already has.
struct FetchConditions {
  std::string etag;           // sent as If-None-Match
  std::string last_modified;  // sent as If-Modified-Since
  // When cancelled (another part of the operation failed), the transfer and its retries stop.
  const Cancellation* cancel = nullptr;  // not owned
};

struct FetchOutcome {
  bool not_modified = false;  // the caller's copy is current (HTTP 304); nothing was written
  std::string etag;           // validators of what was written, "" when the source gives none
  std::string last_modified;
  std::uint64_t bytes = 0;
};

// Opens URLs for reading. Implementations: FileFetcher (file://), HttpFetcher (http_fetcher.hpp).
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // NotFound when the resource does not exist; Unsupported for a scheme it does not handle.
  virtual Result<std::unique_ptr<Reader>> open(const std::string& url) = 0;
  // Writes the resource into `out` (not closed). NotFound when it does not exist. The default
  // ignores `conditions` and copies open(url).
  virtual Result<FetchOutcome> fetch_to(const std::string& url, Writer& out,
                                        const FetchConditions& conditions = {});
  // A local file holding the resource, when there is one (lets callers avoid a copy).
  virtual std::optional<std::filesystem::path> local_path(const std::string& url) {
    (void)url;
    return std::nullopt;
  }
};

class FileFetcher final : public Fetcher {
 public:
  Result<std::unique_ptr<Reader>> open(const std::string& url) override;
  std::optional<std::filesystem::path> local_path(const std::string& url) override;
};

// "file:///a/b%20c" -> "/a/b c"; InvalidArgument for other schemes.
Result<std::filesystem::path> file_url_to_path(std::string_view url);
// "/a/b c" (absolute) -> "file:///a/b%20c".
std::string path_to_file_url(const std::filesystem::path& path);

struct RepodataFetchOptions {
  // Cache root ($XDG_CACHE_HOME/docker-envs by default, chosen by the CLI); repodata of remote
  // channels is kept under <cache_dir>/channels/. Empty: no cache, every call downloads.
  std::filesystem::path cache_dir;
  // Use only the cache: NotFound, naming the channel and subdir, when it has no copy.
  bool offline = false;
};

// Reads <channel>/<subdir>/repodata.json through `fetcher` and parses it, stamping records with
// the channel's display name. Errors name the redacted URL.
//
// Local (file://) channels are read in place. For remote ones, with a cache_dir:
//  * the copy is revalidated with If-None-Match / If-Modified-Since; 304 reuses it;
//  * repodata.json.zst is asked for first; when the server has none (404) that is remembered for
//    the subdir and repodata.json is used from then on;
//  * the cached document and its validators are written by temp file + rename (the validators
//    are trusted only when they match the document's size and mtime, so concurrent processes
//    never pair one document with another's ETag).
// NotFound ("channel X has no subdir Y") when neither file exists.
Result<Repodata> fetch_repodata(const Channel& channel, std::string_view subdir, Fetcher& fetcher,
                                const RepodataFetchOptions& options = {});

// The fetching half of fetch_repodata(): makes the subdir's current repodata.json a local file
// and returns its path, without parsing it — a local channel's own file, or the cached copy under
// options.cache_dir after the same revalidation (or, offline, as it is). A remote channel needs a
// cache_dir (InvalidArgument otherwise). Lets callers key caches of their own on the document.
Result<std::filesystem::path> fetch_repodata_file(const Channel& channel, std::string_view subdir,
                                                  Fetcher& fetcher,
                                                  const RepodataFetchOptions& options = {});
// The parsing half: parses the file fetch_repodata_file() returned for this channel and subdir
// (records stamped with the channel's display name; errors name the redacted URL, and the cached
// copy's path for a remote channel).
Result<Repodata> load_fetched_repodata(const Channel& channel, std::string_view subdir,
                                       Fetcher& fetcher, const std::filesystem::path& file);

// The cache file used for a subdir URL (with token): <cache_dir>/channels/<hash>.json. The name is
// a hash, so no token reaches the file system.
std::filesystem::path repodata_cache_path(const std::filesystem::path& cache_dir,
                                          std::string_view subdir_url);

}  // namespace de::conda
