#include "docker_envs/pypi/requirement.hpp"

#include <algorithm>

#include "docker_envs/pypi/version.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace {

bool is_name_char(char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; }

class RequirementParser {
 public:
  explicit RequirementParser(std::string_view text) : s_(text) {}

  Result<Requirement> parse() {
    Requirement r;
    skip_ws();
    r.name = DE_TRY(identifier("a distribution name"));
    skip_ws();
    if (peek() == '[') DE_TRY(extras(r));
    skip_ws();
    if (peek() == '@') {
      ++i_;
      skip_ws();
      std::size_t start = i_;
      while (i_ < s_.size() && !is_space(s_[i_])) ++i_;
      if (i_ == start) return error("a URL after '@'");
      r.url = std::string(s_.substr(start, i_ - start));
      bool spaced = i_ < s_.size();
      skip_ws();
      if (at_end()) return r;
      if (peek() != ';' || !spaced) return error("whitespace and ';' before a marker, or the end");
    } else {
      DE_TRY(specifiers(r));
      skip_ws();
      if (at_end()) return r;
      if (peek() != ';') return error("a version specifier, ';' or the end");
    }
    ++i_;  // ';'
    std::size_t marker_start = i_;
    auto marker = Marker::parse(s_.substr(i_));
    if (!marker)
      return std::unexpected(std::move(marker.error())
                                 .add_context(fmt::format("invalid requirement '{}': in the marker "
                                                          "starting at position {}",
                                                          s_, marker_start)));
    r.marker = std::move(*marker);
    return r;
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool at_end() const { return i_ >= s_.size(); }
  void skip_ws() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }

  std::unexpected<Error> error(std::string_view expected) const {
    return fail(Code::InvalidArgument, "invalid requirement '{}': expected {} at position {}", s_,
                expected, i_);
  }

  // A PEP 508 identifier: letters and digits, with `.`, `-`, `_` between them.
  Result<std::string> identifier(std::string_view what) {
    std::size_t start = i_;
    if (!is_alnum(peek())) return error(what);
    while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
    while (i_ > start && !is_alnum(s_[i_ - 1])) --i_;  // may not end in a separator
    return std::string(s_.substr(start, i_ - start));
  }

  Status extras(Requirement& r) {
    ++i_;  // '['
    skip_ws();
    if (peek() == ']') {
      ++i_;
      return {};
    }
    for (;;) {
      skip_ws();
      std::string extra = normalize_name(DE_TRY(identifier("an extra name")));
      if (std::find(r.extras.begin(), r.extras.end(), extra) == r.extras.end())
        r.extras.push_back(std::move(extra));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') {
        ++i_;
        return {};
      }
      return error("',' or ']' in the extras");
    }
  }

  Status specifiers(Requirement& r) {
    std::size_t start = i_;
    std::size_t end;
    bool paren = peek() == '(';
    if (paren) {
      end = s_.find(')', i_);
      if (end == std::string_view::npos) return error("a ')' closing the version specifiers");
      ++start;
    } else {
      end = std::min(s_.find(';', i_), s_.size());
    }
    std::string_view text = s_.substr(start, end - start);
    if (!trim(text).empty()) {
      auto set = SpecifierSet::parse(text);
      if (!set)
        return std::unexpected(std::move(set.error()).add_context(fmt::format(
            "invalid requirement '{}': in the version specifiers at position {}", s_, start)));
      r.specifiers = std::move(*set);
    }
    i_ = paren ? end + 1 : end;
    return {};
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

Result<Requirement> Requirement::parse(std::string_view text) {
  if (text.size() > 64 * 1024)
    return fail(Code::InvalidArgument, "invalid requirement: longer than 65536 characters");
  return RequirementParser(text).parse();
}

std::string Requirement::key() const { return normalize_name(name); }

std::string Requirement::to_string() const {
  std::string out = name;
  if (!extras.empty()) {
    out += '[';
    for (std::size_t i = 0; i < extras.size(); ++i) {
      if (i) out += ',';
      out += extras[i];
    }
    out += ']';
  }
  if (!url.empty())
    out += " @ " + url + (marker ? " " : "");
  else
    out += specifiers.to_string();
  if (marker) out += "; " + marker->to_string();
  return out;
}

}  // namespace de::pypi
