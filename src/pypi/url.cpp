// RFC 3986 section 5.2: reference resolution and dot-segment removal.
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/pypi/simple_api.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace {

struct UrlParts {
  std::optional<std::string_view> scheme, authority, query, fragment;
  std::string_view path;
};

UrlParts split_url(std::string_view u) {
  UrlParts p;
  if (std::size_t h = u.find('#'); h != std::string_view::npos) {
    p.fragment = u.substr(h + 1);
    u = u.substr(0, h);
  }
  if (std::size_t q = u.find('?'); q != std::string_view::npos) {
    p.query = u.substr(q + 1);
    u = u.substr(0, q);
  }
  std::size_t colon = u.find(':');
  if (colon != std::string_view::npos && colon > 0 && is_alpha(u[0]) &&
      u.substr(0, colon).find('/') == std::string_view::npos) {
    bool ok = true;
    for (char c : u.substr(0, colon)) ok = ok && (is_alnum(c) || c == '+' || c == '-' || c == '.');
    if (ok) {
      p.scheme = u.substr(0, colon);
      u = u.substr(colon + 1);
    }
  }
  if (u.starts_with("//")) {
    std::size_t slash = u.find('/', 2);
    p.authority = u.substr(2, slash == std::string_view::npos ? u.npos : slash - 2);
    u = slash == std::string_view::npos ? std::string_view() : u.substr(slash);
  }
  p.path = u;
  return p;
}

void drop_last_segment(std::string& out) {
  std::size_t slash = out.rfind('/');
  out.erase(slash == std::string::npos ? 0 : slash);
}

std::string remove_dot_segments(std::string_view path) {
  std::string in(path);
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.erase(0, 3);
    } else if (in.starts_with("./")) {
      in.erase(0, 2);
    } else if (in.starts_with("/./")) {
      in.replace(0, 3, "/");
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.replace(0, 4, "/");
      drop_last_segment(out);
    } else if (in == "/..") {
      in = "/";
      drop_last_segment(out);
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      std::size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      if (next == std::string::npos) next = in.size();
      out += in.substr(0, next);
      in.erase(0, next);
    }
  }
  return out;
}

}  // namespace

std::string resolve_url(std::string_view base, std::string_view ref) {
  UrlParts r = split_url(ref);
  UrlParts b = split_url(base);
  std::string scheme, authority, path;
  std::optional<std::string_view> query;
  bool has_authority = false;
  if (r.scheme) {
    scheme = std::string(*r.scheme);
    has_authority = r.authority.has_value();
    authority = std::string(r.authority.value_or(""));
    path = remove_dot_segments(r.path);
    query = r.query;
  } else {
    scheme = std::string(b.scheme.value_or(""));
    if (r.authority) {
      has_authority = true;
      authority = std::string(*r.authority);
      path = remove_dot_segments(r.path);
      query = r.query;
    } else {
      has_authority = b.authority.has_value();
      authority = std::string(b.authority.value_or(""));
      if (r.path.empty()) {
        path = std::string(b.path);
        query = r.query ? r.query : b.query;
      } else {
        if (r.path.front() == '/') {
          path = remove_dot_segments(r.path);
        } else {
          std::string merged;
          if (b.authority && b.path.empty()) {
            merged = "/" + std::string(r.path);
          } else {
            std::size_t slash = b.path.rfind('/');
            merged = (slash == std::string_view::npos ? std::string()
                                                      : std::string(b.path.substr(0, slash + 1))) +
                     std::string(r.path);
          }
          path = remove_dot_segments(merged);
        }
        query = r.query;
      }
    }
  }
  std::string out;
  if (!scheme.empty()) out += scheme + ":";
  if (has_authority) out += "//" + authority;
  out += path;
  if (query) out += "?" + std::string(*query);
  if (r.fragment) out += "#" + std::string(*r.fragment);
  return out;
}

}  // namespace de::pypi
