#include "docker_envs/pypi/simple_api.hpp"

#include "pypi/simple_internal.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace detail {

namespace {

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string file_url_path(std::string_view url) {
  if (!url.starts_with("file://")) return {};
  std::string_view rest = url.substr(7);
  if (rest.starts_with("localhost/")) rest.remove_prefix(9);
  if (!rest.starts_with("/")) return {};
  return percent_decode(rest);
}

bool parse_hash_pair(std::string_view text, std::string& algo, std::string& hex) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= text.size()) return false;
  algo = to_lower(trim(text.substr(0, eq)));
  hex = to_lower(trim(text.substr(eq + 1)));
  return !algo.empty() && !hex.empty();
}

bool set_link(DistributionFile& file, std::string_view page_url, std::string_view href,
              std::string_view filename) {
  std::string absolute = resolve_url(page_url, trim(href));
  std::size_t hash = absolute.find('#');
  if (hash != std::string::npos) {
    std::string algo, hex;
    if (parse_hash_pair(std::string_view(absolute).substr(hash + 1), algo, hex))
      file.hashes[algo] = hex;
    absolute.erase(hash);
  }
  file.url = absolute;
  if (filename.empty()) {
    std::string_view path = absolute;
    if (std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    std::size_t slash = path.rfind('/');
    filename = slash == std::string_view::npos ? path : path.substr(slash + 1);
    file.filename = percent_decode(filename);
  } else {
    file.filename = std::string(filename);
  }
  return !file.filename.empty() && file.filename.find('/') == std::string::npos &&
         file.filename.find('\0') == std::string::npos && file.filename != "." &&
         file.filename != "..";
}

void set_requires_python(DistributionFile& file, std::string_view text) {
  file.requires_python_text = std::string(trim(text));
  file.requires_python.reset();
  if (file.requires_python_text.empty()) return;
  auto set = SpecifierSet::parse(file.requires_python_text);
  if (set) file.requires_python = std::move(*set);
}

}  // namespace detail

Result<ProjectPage> parse_project_page(std::string_view body, std::string_view content_type,
                                       std::string_view page_url) {
  std::string type = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  // application/vnd.pypi.simple.v1+json (or .latest+json): PEP 691; the version is checked from
  // the document's meta.api-version.
  if (type.starts_with("application/vnd.pypi.simple.") && type.ends_with("+json"))
    return parse_simple_json(body, page_url);
  return parse_simple_html(body, page_url);
}

}  // namespace de::pypi
