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
// Fetching goes through the small Fetcher interface so that HTTP (libcurl, with ETag caching)
// plugs in beside FileFetcher without this module knowing about it.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
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

// Replaces tokens ("/t/<token>/") and URL passwords ("user:<pw>@") with "***" for display.
std::string redact_url(std::string_view url);

// Opens URLs for reading. Implementations: FileFetcher (file://) here; HTTP elsewhere.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // NotFound when the resource does not exist; Unsupported for a scheme it does not handle.
  virtual Result<std::unique_ptr<Reader>> open(const std::string& url) = 0;
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

// Reads <channel>/<subdir>/repodata.json through `fetcher` and parses it, stamping records with
// the channel's display name. Errors name the redacted URL.
Result<Repodata> fetch_repodata(const Channel& channel, std::string_view subdir, Fetcher& fetcher);

}  // namespace de::conda
