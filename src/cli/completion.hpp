// Shell completion scripts and the man page, generated from the command table (command_spec.hpp):
// `docker-envs completion bash|zsh|fish` prints a script, and the build writes the man page with
// `docker-envs generate man` (installed by cmake --install). Each is a pure function of the
// CommandSpec, so the same table always gives the same text.
//
// The scripts complete commands and nested subcommands, options (and `--opt=`), the values of
// options with fixed choices, files and directories, and image references: the transports
// (docker://, docker-archive:, oci:, oci-archive:, scratch), then files after a transport.
#pragma once

#include <string>
#include <string_view>

#include "cli/command_spec.hpp"

namespace de::cli {

std::string bash_completion(const CommandSpec& root);
std::string zsh_completion(const CommandSpec& root);
std::string fish_completion(const CommandSpec& root);

// A man(7) page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, one subsection per command (usage,
// description, options, arguments), EXIT STATUS, ENVIRONMENT. `version` goes in the footer.
std::string man_page(const CommandSpec& root, std::string_view version);

// Helpers shared by the generators.
namespace gen {
// 'text' for a POSIX shell (and zsh, fish): single quotes, ' written as '\''.
std::string shell_quote(std::string_view text);
// fish's single quotes: only \ and ' are escaped.
std::string fish_quote(std::string_view text);
// The first line of a help text, newlines and tabs made spaces.
std::string one_line(std::string_view help);
// "file", "dir", "image", "choice:a b c" or "none": a value's kind as the scripts name it.
std::string kind_word(ValueKind kind, const std::vector<std::string>& choices);
// The shell function-name stem: "docker-envs" -> "docker_envs".
std::string identifier(std::string_view program);
// The __ID_value function of the bash and zsh scripts: a `case` on "PATH|OPTION" and
// "PATH|INDEX" printing the kind of value (kind_word). `open` starts a pattern ("" or "("),
// patterns of one option are joined with `separator`, `rest` matches any index (after a
// repeatable positional's), `print` prints.
struct CaseStyle {
  std::string_view open, separator, rest, print;
};
std::string value_function(const CommandSpec& root, const CaseStyle& style);
// A script template with @ID@ (identifier(program)), @PROGRAM@ and @TRANSPORTS@ (the image
// transports, space-separated) filled in.
std::string fill_template(std::string_view text, std::string_view program);
}  // namespace gen

}  // namespace de::cli
