// PEP 503 project pages: a tolerant scan for <a> and <base> tags (an index page is generated,
// simple HTML; a full HTML parser is not needed), attribute values HTML-unescaped.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "docker_envs/pypi/simple_api.hpp"
#include "pypi/simple_internal.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Character references: the named ones an index uses and numeric ones; others stay as written.
std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    std::string_view name = s.substr(i + 1, semi - i - 1);
    static const std::map<std::string_view, char> named{
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    if (auto it = named.find(name); it != named.end()) {
      out += it->second;
    } else if (name.size() >= 2 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string_view digits = name.substr(hex ? 2 : 1);
      std::uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        int d = is_digit(c) ? c - '0'
                : hex && ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f' ? ascii_lower(c) - 'a' + 10
                                                                        : -1;
        if (d < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
      }
      if (!ok) {
        out += '&';
        continue;
      }
      append_utf8(out, cp);
    } else {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

struct TagScan {
  std::string name;                           // lower case
  std::map<std::string, std::string> attrs;  // lower-case names, unescaped values
  std::size_t end = 0;                        // just after '>'
};

// Reads the tag starting at html[at] == '<'. Attributes without a value get "".
TagScan scan_tag(std::string_view html, std::size_t at) {
  TagScan t;
  std::size_t i = at + 1;
  while (i < html.size() && (is_alnum(html[i]) || html[i] == '/' || html[i] == '!')) ++i;
  t.name = to_lower(html.substr(at + 1, i - at - 1));
  for (;;) {
    while (i < html.size() && (is_space(html[i]) || html[i] == '/')) ++i;
    if (i >= html.size()) {
      t.end = html.size();
      return t;
    }
    if (html[i] == '>') {
      t.end = i + 1;
      return t;
    }
    std::size_t name_start = i;
    while (i < html.size() && !is_space(html[i]) && html[i] != '=' && html[i] != '>' &&
           html[i] != '/')
      ++i;
    std::string name = to_lower(html.substr(name_start, i - name_start));
    while (i < html.size() && is_space(html[i])) ++i;
    std::string value;
    if (i < html.size() && html[i] == '=') {
      ++i;
      while (i < html.size() && is_space(html[i])) ++i;
      if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
        char q = html[i];
        std::size_t close = html.find(q, i + 1);
        if (close == std::string_view::npos) close = html.size();
        value = html_unescape(html.substr(i + 1, close - i - 1));
        i = close < html.size() ? close + 1 : close;
      } else {
        std::size_t start = i;
        while (i < html.size() && !is_space(html[i]) && html[i] != '>') ++i;
        value = html_unescape(html.substr(start, i - start));
      }
    }
    if (!name.empty()) t.attrs.try_emplace(std::move(name), std::move(value));
  }
}

const std::string* attr(const TagScan& t, std::string_view name) {
  auto it = t.attrs.find(std::string(name));
  return it == t.attrs.end() ? nullptr : &it->second;
}

void set_core_metadata(DistributionFile& file, const TagScan& t) {
  const std::string* v = attr(t, "data-core-metadata");
  if (!v) v = attr(t, "data-dist-info-metadata");
  if (!v) return;
  std::string value = to_lower(trim(*v));
  std::string algo, hex;
  if (value == "true") {
    file.has_core_metadata = true;
  } else if (detail::parse_hash_pair(value, algo, hex)) {
    file.has_core_metadata = true;
    file.core_metadata_hashes[algo] = hex;
  }
}

}  // namespace

Result<ProjectPage> parse_simple_html(std::string_view html, std::string_view page_url) {
  if (html.size() > detail::kMaxPageBytes)
    return fail(Code::Corruption, "{}: the page is larger than 64 MiB", page_url);
  ProjectPage page;
  std::string base(page_url);
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (html.substr(i).starts_with("<!--")) {
      std::size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    TagScan t = scan_tag(html, i);
    i = t.end;
    if (t.name == "base") {
      if (const std::string* href = attr(t, "href")) base = resolve_url(base, *href);
      continue;
    }
    if (t.name != "a") continue;
    const std::string* href = attr(t, "href");
    if (!href) continue;
    DistributionFile file;
    if (!detail::set_link(file, base, *href)) continue;
    if (const std::string* rp = attr(t, "data-requires-python"))
      detail::set_requires_python(file, *rp);
    if (const std::string* y = attr(t, "data-yanked")) {
      file.yanked = true;
      file.yanked_reason = *y;
    }
    set_core_metadata(file, t);
    if (page.files.size() >= detail::kMaxFiles)
      return fail(Code::Corruption, "{}: more than {} files", page_url, detail::kMaxFiles);
    page.files.push_back(std::move(file));
  }
  return page;
}

}  // namespace de::pypi
