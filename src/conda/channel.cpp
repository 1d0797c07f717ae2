#include "docker_envs/conda/channel.hpp"
#include "docker_envs/base/text.hpp"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

namespace de::conda {

namespace {

constexpr std::array<std::string_view, 16> kKnownSubdirs = {
    "noarch",       "linux-64",     "linux-aarch64", "linux-ppc64le", "linux-s390x",
    "linux-armv6l", "linux-armv7l", "linux-32",      "osx-64",        "osx-arm64",
    "win-64",       "win-32",       "win-arm64",     "zos-z",         "emscripten-wasm32",
    "wasi-wasm32"};

std::string strip_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

bool is_known_subdir(std::string_view subdir) {
  for (auto s : kKnownSubdirs)
    if (s == subdir) return true;
  return false;
}

Result<std::string> parse_platform(std::string_view text) {
  for (auto p : kPlatforms)
    if (p == text) return std::string(p);
  return fail(Code::InvalidArgument,
              "unknown platform '{}' (expected linux-64, linux-aarch64, linux-ppc64le, osx-64, "
              "osx-arm64 or win-64)",
              text);
}

Result<std::filesystem::path> file_url_to_path(std::string_view url) {
  if (!url.starts_with("file://"))
    return fail(Code::InvalidArgument, "'{}' is not a file:// URL", redact_url(url));
  std::string_view rest = url.substr(7);
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with("/"))
    return fail(Code::InvalidArgument, "file URL '{}' must name an absolute path", url);
  std::string path;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() &&
        std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
      unsigned byte = 0;  // two hex digits (checked above): from_chars cannot fail
      std::from_chars(rest.data() + i + 1, rest.data() + i + 3, byte, 16);
      path += static_cast<char>(byte);
      i += 2;
    } else {
      path += rest[i];
    }
  }
  return std::filesystem::path(path);
}

std::string path_to_file_url(const std::filesystem::path& path) {
  return "file://" + percent_encode(path.lexically_normal().string(), "/+@:");
}

Result<Channel> Channel::parse(std::string_view input, const ChannelOptions& options) {
  std::string text(input);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  if (text.empty()) return fail(Code::InvalidArgument, "empty channel");
  Channel c;
  std::string alias = strip_slashes(options.channel_alias);

  if (has_url_scheme(text)) {
    c.url_ = strip_slashes(text);
  } else if (text.starts_with("/") || text.starts_with("./") || text.starts_with("../") ||
             text.starts_with("~/") || text == "." || text == "..") {
    std::filesystem::path p;
    if (text.starts_with("~/")) {
      const char* home = std::getenv("HOME");
      if (!home) return fail(Code::InvalidArgument, "channel '{}': HOME is not set", text);
      p = std::filesystem::path(home) / text.substr(2);
    } else {
      p = text;
    }
    if (p.is_relative()) {
      std::filesystem::path base = options.working_directory;
      if (base.empty()) {
        std::error_code ec;
        base = std::filesystem::current_path(ec);
        if (ec) return fail(Code::Io, "channel '{}': current directory: {}", text, ec.message());
      }
      p = base / p;
    }
    c.url_ = strip_slashes(path_to_file_url(p));
  } else {
    for (char ch : text) {
      if (std::isspace(static_cast<unsigned char>(ch)) || ch == ':' || ch == '?' || ch == '#')
        return fail(Code::InvalidArgument, "channel name '{}' contains '{}'", text, ch);
    }
    c.url_ = alias + "/" + strip_slashes(text);
  }

  // A trailing subdir fixes the subdir.
  if (auto slash = c.url_.rfind('/'); slash != std::string::npos && slash + 1 < c.url_.size()) {
    std::string last = c.url_.substr(slash + 1);
    if (is_known_subdir(last) && slash > c.url_.find("://") + 3) {
      c.fixed_subdir_ = last;
      c.url_.resize(slash);
    }
  }

  // Token: /t/<token>/ right after the host.
  if (auto scheme = c.url_.find("://"); scheme != std::string::npos) {
    auto host_end = c.url_.find('/', scheme + 3);
    if (host_end != std::string::npos && c.url_.compare(host_end, 3, "/t/") == 0) {
      auto token_end = c.url_.find('/', host_end + 3);
      c.token_ =
          c.url_.substr(host_end + 3, token_end == std::string::npos ? std::string::npos
                                                                     : token_end - host_end - 3);
    }
  }

  // Display name: the path below the alias (token removed), else the redacted URL.
  std::string display = redact_url(c.url_);
  std::string bare = c.url_;
  if (!c.token_.empty()) {
    auto pos = bare.find("/t/" + c.token_);
    bare.erase(pos, 3 + c.token_.size());
  }
  if (bare.starts_with(alias + "/") && bare.size() > alias.size() + 1 &&
      c.url_.find('@') == std::string::npos) {
    c.name_ = bare.substr(alias.size() + 1);
  } else {
    c.name_ = display;
  }
  return c;
}

std::string Channel::to_string() const { return redact_url(url_); }

std::string Channel::subdir_url(std::string_view subdir) const {
  return url_ + "/" + std::string(subdir);
}

std::vector<std::string> Channel::subdirs(std::string_view platform) const {
  if (fixed_subdir_) return {*fixed_subdir_};
  if (platform == "noarch") return {"noarch"};
  return {std::string(platform), "noarch"};
}

Result<std::unique_ptr<Reader>> FileFetcher::open(const std::string& url) {
  auto path = local_path(url);
  if (!path)
    return fail(Code::Unsupported, "cannot fetch '{}': only file:// URLs are supported here",
                redact_url(url));
  auto reader = DE_TRY(FileReader::open(*path));
  return std::unique_ptr<Reader>(std::move(reader));
}

std::optional<std::filesystem::path> FileFetcher::local_path(const std::string& url) {
  auto p = file_url_to_path(url);
  if (!p) return std::nullopt;
  return *p;
}

Result<FetchOutcome> Fetcher::fetch_to(const std::string& url, Writer& out,
                                       const FetchConditions& conditions) {
  (void)conditions;
  auto reader = DE_TRY(open(url));
  FetchOutcome outcome;
  outcome.bytes = DE_TRY(copy(*reader, out));
  return outcome;
}

}  // namespace de::conda
