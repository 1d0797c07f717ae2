// Environment markers (PEP 508 "Environment Markers"): parsing and evaluation against the target
// image's environment (MarkerEnvironment, built from the image's Python and platform by
// target.hpp; never from the host running docker-envs).
//
// Grammar: `or` of `and` of comparisons `lhs op rhs` (and parenthesised groups), where each side
// is a marker variable or a quoted string ('...' or "...", no escapes) and op is one of
// `< <= != == >= > ~= ===`, `in`, `not in`. The variables are PEP 508's (`python_version`,
// `python_full_version`, `os_name`, `sys_platform`, `platform_release`, `platform_system`,
// `platform_version`, `platform_machine`, `platform_python_implementation`,
// `implementation_name`, `implementation_version`, `extra`) plus the legacy dotted spellings
// still found in old metadata (`os.name`, `sys.platform`, `platform.machine`, ...).
//
// Evaluation (PEP 508): a version comparison uses PEP 440 when the right-hand side makes a valid
// specifier with the operator and the left-hand side is a valid version (pre-releases allowed);
// otherwise `==`/`!=`/`<`/`<=`/`>`/`>=` compare the strings as Python does, `in` / `not in` look
// for a substring, and an operator without a string meaning (`~=` on non-versions) is false.
// `extra` compares names normalised (PEP 685): `extra == "Foo_Bar"` holds for the extra
// "foo-bar".
//
// Marker is an immutable value; nesting is bounded (64 levels) so that hostile metadata cannot
// exhaust the stack.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de::pypi {

// The values of the marker variables for one target. platform_release and platform_version
// describe a running kernel, which an image does not have: they stay "" unless the caller knows.
struct MarkerEnvironment {
  std::string implementation_name;             // "cpython", "pypy"
  std::string implementation_version;          // "3.11.4"
  std::string os_name;                         // "posix"
  std::string platform_machine;                // "x86_64", "aarch64"
  std::string platform_python_implementation;  // "CPython", "PyPy"
  std::string platform_release;
  std::string platform_system;                 // "Linux"
  std::string platform_version;
  std::string python_full_version;             // "3.11.4"
  std::string python_version;                  // "3.11"
  std::string sys_platform;                    // "linux"
};

class Marker {
 public:
  struct Node;

  // A marker expression (what follows `;` in a requirement). InvalidArgument names the text,
  // what was expected and the 0-based position.
  static Result<Marker> parse(std::string_view text);

  // The value for the environment, with `extra` set to `extra` ("" when no extra is being
  // evaluated, as for the base requirements of a distribution).
  bool evaluate(const MarkerEnvironment& env, std::string_view extra = "") const;

  // Whether the marker mentions the `extra` variable.
  bool mentions_extra() const;

  // Normalised text: variables and operators as PEP 508 spells them, strings in double quotes
  // (single quotes when the string holds a double quote), `and` inside `or` without parentheses.
  std::string to_string() const;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace de::pypi
