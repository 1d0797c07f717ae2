// Conda version constraints ("VersionSpec"): the version field of a match spec.
//
// Grammar (conda's documented semantics; `,` binds tighter than `|`):
//   spec    := or
//   or      := and ('|' and)*
//   and     := primary (',' primary)*
//   primary := '(' or ')' | '^' regex '$' | [op] version
//   op      := '==' | '!=' | '<' | '<=' | '>' | '>=' | '=' | '~='
// Meaning of a primary:
//   *  (also =*, ==*, >=*, <=*, and the empty spec)   any version
//   1.2          equal (1.2 == 1.2.0)                  ==1.2      equal
//   =1.2, 1.2.*, 1.2*, =1.2.*, ==1.2.*                 starts with 1.2 (1.2, 1.2.0, 1.2.3, 1.2a)
//   !=1.2        not equal                             !=1.2.*    does not start with 1.2
//   <, <=, >, >= ordered comparison; a trailing `.*` is ignored (`>=1.2.*` is `>=1.2`), other `*`
//                are version atoms (`>=1.0.1*.vc11`)
//   ~=1.4.5      compatible release: >=1.4.5 and the same 1.4 (`~=` with `*` is refused)
//   1.*.3, *.3   a glob over the version text when `*` is not only at the end (also with =, ==, !=)
//   ^1\.7\..*$   a regular expression (ECMAScript) over the version text
//
// VersionSpec is an immutable value; copies share the parsed tree. Thread-safe for const use.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/version.hpp"

namespace de::conda {

class VersionSpec {
 public:
  VersionSpec();  // matches any version ("*")

  // Parses a version spec; errors (InvalidArgument) say what was expected and give the 0-based
  // position in the trimmed text: "invalid version spec '>=1.2,<': expected a version after '<'
  // at position 7".
  static Result<VersionSpec> parse(std::string_view text);

  bool contains(const Version& version) const;

  // Canonical text: whitespace removed, `1.2*` written `1.2.*`, redundant parentheses dropped,
  // otherwise as written. parse(to_string()) gives an equal spec.
  std::string to_string() const;

  bool is_any() const;
  // A single `==V` or bare `V` constraint (conda's "exact" version).
  bool is_exact() const;

  friend bool operator==(const VersionSpec& a, const VersionSpec& b) {
    return a.to_string() == b.to_string();
  }

  struct Node;  // the parsed tree (defined in version_spec.cpp)

 private:
  explicit VersionSpec(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;
};

}  // namespace de::conda
