// A compiled `^...$` pattern for version specs and match-spec fields (private to the conda module).
// Patterns come from users, lock files and repodata, so matching must not blow up: the engine
// (spec_regex.cpp) simulates an NFA in time linear in the text and refuses what it cannot do that
// way (back-references, look-arounds) and patterns beyond small size limits.
#pragma once

#include <memory>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de::conda::detail {

class SpecRegex {
 public:
  // The ECMAScript subset spec_regex.cpp lists; errors are InvalidArgument with the reason and
  // its position in the pattern.
  static Result<SpecRegex> compile(std::string_view pattern);
  // True when the whole text matches.
  bool full_match(std::string_view text) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // immutable, shared between copies; thread-safe for matching
};

}  // namespace de::conda::detail
