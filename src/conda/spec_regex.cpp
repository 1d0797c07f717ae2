#include "conda/spec_regex.hpp"

// See spec_regex.hpp: false positives inside libstdc++'s <regex> under -fsanitize builds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>

namespace de::conda::detail {

struct SpecRegex::Impl {
  std::regex regex;
};

Result<SpecRegex> SpecRegex::compile(std::string_view pattern) {
  SpecRegex r;
  try {
    r.impl_ = std::make_shared<const Impl>(
        Impl{std::regex(pattern.begin(), pattern.end(), std::regex::ECMAScript)});
  } catch (const std::regex_error& e) {
    return fail(Code::InvalidArgument, "invalid regular expression '{}': {}", pattern, e.what());
  }
  return r;
}

bool SpecRegex::full_match(std::string_view text) const {
  return std::regex_match(text.begin(), text.end(), impl_->regex);
}

}  // namespace de::conda::detail

#pragma GCC diagnostic pop
