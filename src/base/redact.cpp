#include "docker_envs/base/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

namespace de {
namespace {

// Where the "user[:password]" of "scheme://user[:password]@host/..." is: [begin, end) of the part
// before '@'; nullopt when the URL has none.
std::optional<std::pair<std::size_t, std::size_t>> userinfo(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  auto host_end = url.find_first_of("/?#", scheme + 3);
  auto at = url.rfind('@', host_end == std::string_view::npos ? url.size() : host_end);
  if (at == std::string_view::npos || at <= scheme) return std::nullopt;
  return std::pair{scheme + 3, at};
}

// Calls `segment(begin, end)` for each "/t/<token>" path segment (begin at its '/'), last first,
// so that the callback may edit the string after the position it is given.
template <typename F>
void for_each_token_segment(const std::string& url, F segment) {
  std::size_t path_end = std::min(url.find('?'), url.find('#'));
  if (path_end == std::string::npos) path_end = url.size();
  std::vector<std::pair<std::size_t, std::size_t>> found;
  for (std::size_t pos = url.find("/t/"); pos < path_end;) {
    auto end = url.find_first_of("/?#", pos + 3);
    if (end == std::string::npos) end = url.size();
    found.emplace_back(pos, end);
    pos = end == url.size() ? std::string::npos : url.find("/t/", end);
  }
  for (auto it = found.rbegin(); it != found.rend(); ++it) segment(it->first, it->second);
}

// Replaces the values of secret query parameters ("?a=1&token=x#f" -> "?a=1&token=***#f").
void redact_query(std::string& url) {
  auto query = url.find('?');
  if (query == std::string::npos) return;
  auto fragment = url.find('#', query);
  if (fragment == std::string::npos) fragment = url.size();
  std::string_view params = std::string_view(url).substr(query + 1, fragment - query - 1);
  std::string out;
  while (true) {
    auto param_end = params.find_first_of("&;");
    std::string_view param = params.substr(0, param_end);
    auto eq = param.find('=');
    if (eq != std::string_view::npos && eq + 1 < param.size() &&
        is_secret_query_key(param.substr(0, eq)))
      out.append(param.substr(0, eq + 1)).append("***");
    else
      out.append(param);
    if (param_end == std::string_view::npos) break;
    out += params[param_end];
    params.remove_prefix(param_end + 1);
  }
  url.replace(query + 1, fragment - query - 1, out);
}

}  // namespace

bool is_secret_query_key(std::string_view key) {
  static constexpr std::array<std::string_view, 20> kSecret = {"token",
                                                               "access_token",
                                                               "refresh_token",
                                                               "id_token",
                                                               "auth",
                                                               "sig",
                                                               "signature",
                                                               "password",
                                                               "passwd",
                                                               "pwd",
                                                               "secret",
                                                               "client_secret",
                                                               "api_key",
                                                               "apikey",
                                                               "key",
                                                               "x-amz-signature",
                                                               "x-amz-credential",
                                                               "x-amz-security-token",
                                                               "x-goog-signature",
                                                               "x-goog-credential"};
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kSecret.begin(), kSecret.end(), lower) != kSecret.end();
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  redact_query(out);
  for_each_token_segment(out, [&](std::size_t begin, std::size_t end) {
    if (end > begin + 3) out.replace(begin + 3, end - begin - 3, "***");
  });
  if (auto u = userinfo(out)) {
    auto colon = out.find(':', u->first);
    if (colon < u->second) out.replace(colon + 1, u->second - colon - 1, "***");
  }
  return out;
}

std::string strip_credentials(std::string_view url) {
  std::string out(url);
  for_each_token_segment(
      out, [&](std::size_t begin, std::size_t end) { out.erase(begin, end - begin); });
  if (auto u = userinfo(out)) out.erase(u->first, u->second + 1 - u->first);
  return out;
}

std::string redact_reference(std::string_view text) {
  if (text.find("://") != std::string_view::npos) return redact_url(text);
  auto at = text.find('@');
  auto slash = text.find('/');
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at))
    return redact_url(text);
  // "user:pw@host/...": redacted as the authority of a URL.
  constexpr std::string_view kScheme = "x://";
  return redact_url(std::string(kScheme) + std::string(text)).substr(kScheme.size());
}

}  // namespace de
