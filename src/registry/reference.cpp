#include "docker_envs/registry/reference.hpp"

#include <algorithm>
#include <cctype>

namespace de::registry {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !is_lower_alnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
    if (!ok) return false;
  }
  return true;
}

bool valid_path(std::string_view path) {
  if (path.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (!valid_component(
            path.substr(start, slash == std::string_view::npos ? path.npos : slash - start)))
      return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool valid_label(std::string_view l) {
  if (l.empty() || !is_alnum(l.front()) || !is_alnum(l.back())) return false;
  return std::all_of(l.begin(), l.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// host[:port], host being DNS labels separated by '.' or a bracketed IPv6 address.
bool valid_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  if (d.starts_with('[')) {
    auto close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view ip = d.substr(1, close - 1);
    if (!std::all_of(ip.begin(), ip.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':';
        }))
      return false;
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else if (auto colon = d.rfind(':'); colon != std::string_view::npos) {
    host = d.substr(0, colon);
    port = d.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  if (d.starts_with('[')) return true;
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!valid_label(host.substr(start, dot == std::string_view::npos ? host.npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [\w][\w.-]{0,127}
bool valid_tag(std::string_view t) {
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (t.empty() || t.size() > 128 || !word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Code::InvalidArgument, "invalid image reference '{}': {}", text, why);
  };
  if (text.empty()) return bad("empty");
  if (is_hex64(text)) return bad("cannot specify 64-byte hexadecimal strings");

  Reference ref;
  std::string_view remainder = text;
  auto slash = text.find('/');
  std::string_view first =
      slash == std::string_view::npos ? std::string_view() : text.substr(0, slash);
  bool has_upper =
      std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (slash == std::string_view::npos ||
      (first.find_first_of(".:") == std::string_view::npos && first != "localhost" && !has_upper)) {
    ref.domain = kDockerHubDomain;
  } else {
    ref.domain = std::string(first);
    remainder = text.substr(slash + 1);
    if (!valid_domain(ref.domain))
      return bad(fmt::format("'{}' is not a valid registry host", ref.domain));
  }
  if (ref.domain == "index.docker.io") ref.domain = kDockerHubDomain;

  std::string_view path = remainder;
  if (auto at = remainder.find('@'); at != std::string_view::npos) {
    std::string_view digest_text = remainder.substr(at + 1);
    path = remainder.substr(0, at);
    auto digest = Digest::parse(digest_text);
    if (!digest) {
      if (digest_text.starts_with("sha256:") || digest_text.find(':') == std::string_view::npos)
        return bad(
            fmt::format("'{}' is not a valid digest (sha256:<64 lowercase hex>)", digest_text));
      return fail(Code::Unsupported, "image reference '{}': only sha256 digests are supported",
                  text);
    }
    ref.digest = *digest;
  }
  if (auto colon = path.rfind(':'); colon != std::string_view::npos) {
    ref.tag = std::string(path.substr(colon + 1));
    path = path.substr(0, colon);
    if (!valid_tag(ref.tag))
      return bad(
          fmt::format("'{}' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})", ref.tag));
  }
  if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return bad("repository name must be lowercase");
  if (!valid_path(path)) return bad(fmt::format("'{}' is not a valid repository name", path));
  ref.repository = std::string(path);
  if (ref.domain == kDockerHubDomain && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.name().size() > 255) return bad("repository name is longer than 255 characters");
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

std::string Reference::to_string() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->to_string();
  return out;
}

std::string Reference::familiar() const {
  std::string out;
  // A Docker Hub repository whose first component looks like a host ("r.i/2", "localhost/x")
  // keeps its "docker.io/" prefix: without it the text would name that host instead.
  std::string_view first = std::string_view(repository).substr(0, repository.find('/'));
  bool first_looks_like_host = repository.find('/') != std::string::npos &&
                               (first.find_first_of(".:") != std::string_view::npos ||
                                first == "localhost");
  if (domain == kDockerHubDomain && !first_looks_like_host) {
    out = repository.starts_with("library/") && repository.find('/', 8) == std::string::npos
              ? repository.substr(8)
              : repository;
  } else {
    out = name();
  }
  if (!tag.empty()) out += ":" + tag;
  if (digest) out += "@" + digest->to_string();
  return out;
}

std::string Reference::api_host() const {
  return domain == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain;
}

std::string Reference::identifier() const { return digest ? digest->to_string() : tag; }

Reference Reference::with_tag(std::string_view new_tag) const {
  Reference r = *this;
  r.tag = std::string(new_tag);
  r.digest.reset();
  return r;
}

Reference Reference::with_digest(const Digest& d) const {
  Reference r = *this;
  r.digest = d;
  return r;
}

bool is_loopback_host(std::string_view host) {
  // Strip the port: "[::1]:5000", "127.0.0.1:5000", "localhost:5000".
  if (host.starts_with('[')) {
    auto close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? host.npos : close - 1);
  } else if (auto colon = host.rfind(':');
             colon != std::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

}  // namespace de::registry
