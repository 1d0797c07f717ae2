// Private: the small ASCII text helpers of the pypi parsers. Python packaging metadata is ASCII
// where it matters (names, versions, tags, markers), so nothing here depends on the C locale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace de::pypi {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// The run of digits at s[pos] as a number, advancing pos past it; nullopt on overflow (pos then
// points past the digits as well). The caller checks that there is a digit.
inline std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t& pos) {
  std::uint64_t n = 0;
  bool overflow = false;
  for (; pos < s.size() && is_digit(s[pos]); ++pos) {
    auto d = static_cast<std::uint64_t>(s[pos] - '0');
    if (n > (UINT64_MAX - d) / 10) overflow = true;
    n = n * 10 + d;
  }
  if (overflow) return std::nullopt;
  return n;
}

}  // namespace de::pypi
