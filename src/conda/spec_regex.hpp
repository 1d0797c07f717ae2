// A compiled `^...$` pattern for version specs and match-spec fields (private to the conda module).
// Keeps <regex> out of the other translation units: libstdc++'s <regex> trips GCC 12's
// -Wmaybe-uninitialized under sanitizer builds, so it is confined (and silenced) in one file.
#pragma once

#include <memory>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de::conda::detail {

class SpecRegex {
 public:
  // ECMAScript syntax; errors are InvalidArgument with the library's reason.
  static Result<SpecRegex> compile(std::string_view pattern);
  // True when the whole text matches.
  bool full_match(std::string_view text) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // immutable, shared between copies; thread-safe for matching
};

}  // namespace de::conda::detail
