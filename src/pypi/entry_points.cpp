#include "pypi/entry_points.hpp"

#include <algorithm>

namespace de::pypi::detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// A Python identifier: ASCII letters, digits and '_' (not first a digit), or any non-ASCII byte
// (Python 3 identifiers may be Unicode; they cannot form syntax).
bool identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::ranges::all_of(s, [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  });
}

bool dotted(std::string_view s) {
  for (;;) {
    auto dot = s.find('.');
    if (!identifier(trim(s.substr(0, dot)))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// "a . b" -> "a.b" (the spec allows spaces around the dots).
std::string without_spaces(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

}  // namespace

Result<std::vector<EntryPoint>> parse_entry_points(std::string_view text, std::string_view what,
                                                   const std::vector<std::string>& groups) {
  std::vector<EntryPoint> out;
  std::string group;
  bool wanted = false;
  int number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return fail(Code::Corruption, "{}:{}: section header '{}' has no ']'", what, number, line);
      group = std::string(trim(line.substr(1, line.size() - 2)));
      wanted = std::ranges::find(groups, group) != groups.end();
      continue;
    }
    if (!wanted) continue;
    auto bad = [&](std::string_view why) {
      return fail(Code::Corruption, "{}:{}: entry point '{}' {}", what, number, line, why);
    };
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return bad("has no '='");
    EntryPoint ep{.group = group, .name = std::string(trim(line.substr(0, eq))), .line = number};
    if (ep.name.empty() || ep.name == "." || ep.name == ".." ||
        ep.name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
      return bad("has a name that cannot be a script file name");
    std::string_view value = trim(line.substr(eq + 1));
    if (auto bracket = value.find('['); bracket != std::string_view::npos) {
      // Extras: "[a, b]" after the object reference; an installer does not need them.
      if (value.back() != ']') return bad("has an unterminated '['");
      std::string_view extras = value.substr(bracket + 1, value.size() - bracket - 2);
      if (extras.find_first_of("[]") != std::string_view::npos) return bad("has malformed extras");
      value = trim(value.substr(0, bracket));
    }
    auto colon = value.find(':');
    std::string_view module = trim(value.substr(0, colon));
    std::string_view attr =
        colon == std::string_view::npos ? std::string_view() : trim(value.substr(colon + 1));
    if (!dotted(module)) return bad("does not name a module (dotted identifiers)");
    if (colon != std::string_view::npos && !dotted(attr))
      return bad("does not name an object (dotted identifiers after ':')");
    ep.module = without_spaces(module);
    ep.attr = without_spaces(attr);
    out.push_back(std::move(ep));
  }
  return out;
}

}  // namespace de::pypi::detail
