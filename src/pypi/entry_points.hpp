// A distribution's entry_points.txt (the entry points specification, PyPA): an INI file whose
// sections are groups and whose `name = module:attr [extras]` lines are entry points. Only the
// console_scripts and gui_scripts groups matter to an installer; every line of those is checked,
// since it becomes Python code in a script.
//
// Pure functions over text; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::pypi::detail {

struct EntryPoint {
  std::string group;   // "console_scripts"
  std::string name;    // "pip3"
  std::string module;  // "pip._internal.cli.main": dotted identifiers
  std::string attr;    // "main" (may be dotted: "Class.method"); "" when the line names none
  int line = 0;
};

// The entry points of the groups in `groups` ({"console_scripts", "gui_scripts"}), in file order.
// Corruption, naming `what` and the line, for a line of those groups that is not
// `name = module[:attr] [extras]` with dotted identifiers, or whose name could not be a file name
// in bin/ (empty, '/', NUL, "." or ".."). Lines of other groups are not looked at.
Result<std::vector<EntryPoint>> parse_entry_points(std::string_view text, std::string_view what,
                                                   const std::vector<std::string>& groups);

}  // namespace de::pypi::detail
