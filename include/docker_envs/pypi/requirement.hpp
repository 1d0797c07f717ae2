// Dependency specifications (PEP 508): `name [extras] specifiers ; marker` and
// `name [extras] @ url ; marker`.
//
//   requests[security,socks] >= 2.8.1, == 2.8.* ; python_version < "2.7"
//   pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686
//
// Names are kept as written and compared in PEP 503 normalised form (key()); extras are stored
// normalised (PEP 685), without duplicates, in the order written. Specifiers may be wrapped in
// parentheses (the older Requires-Dist style: `foo (>=1.0)`). After a URL, the `;` of a marker
// must follow whitespace, since `;` may belong to the URL.
//
// Requirement is a regular value; to_string() gives the normalised form and parses back to an
// equal value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/marker.hpp"
#include "docker_envs/pypi/specifier.hpp"

namespace de::pypi {

struct Requirement {
  std::string name;                 // as written
  std::vector<std::string> extras;  // normalised
  SpecifierSet specifiers;          // empty with a URL
  std::string url;                  // "" unless `name @ url`
  std::optional<Marker> marker;

  // InvalidArgument naming the requirement text, what was expected and the 0-based position.
  static Result<Requirement> parse(std::string_view text);

  // The PEP 503 normalised name.
  std::string key() const;
  // Whether the requirement applies to the target: no marker, or it evaluates true with `extra`.
  bool applies(const MarkerEnvironment& env, std::string_view extra = "") const {
    return !marker || marker->evaluate(env, extra);
  }

  std::string to_string() const;
};

}  // namespace de::pypi
