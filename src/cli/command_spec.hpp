// The command table as data: every command, its subcommands, options and positional arguments,
// read from the CLI11 tree main() builds. The completion scripts and the man page are generated
// from it (completion.cpp, man_page.cpp), so a command or option added anywhere appears in them
// without another edit. Hidden commands (an empty CLI11 group) are left out.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace de::cli {

// What a value is, for completion: files, directories, image references (the transports and
// files), one of fixed choices, or anything (no completion).
enum class ValueKind { None, File, Directory, Image, Choice };

struct OptionSpec {
  std::vector<std::string> names;  // "-t", "--tag" (short names first)
  std::string value;               // the value's name in help ("TEXT", "N"); "" for a flag
  ValueKind kind = ValueKind::None;
  std::vector<std::string> choices;  // for ValueKind::Choice
  std::string help;
  bool takes_value() const { return !value.empty(); }
};

struct PositionalSpec {
  std::string name;  // "SRC", "env_file"
  ValueKind kind = ValueKind::File;
  std::vector<std::string> choices;
  std::string help;
  bool repeatable = false;  // takes every remaining argument
  bool required = false;
};

struct CommandSpec {
  std::string name;  // "ls"; the program's name at the root
  std::string help;
  std::string footer;
  std::vector<OptionSpec> options;  // --help included
  std::vector<PositionalSpec> positionals;
  std::vector<CommandSpec> subcommands;

  // The subcommand named `name`, or nullptr.
  const CommandSpec* find(std::string_view sub) const;
};

// The tree under `app` (app's own name at the root).
CommandSpec describe(const CLI::App& app);

// Every command with its path from the root ("" for the root, "image ls"), depth first.
struct CommandPath {
  std::string path;
  const CommandSpec* command;
};
std::vector<CommandPath> flatten(const CommandSpec& root);

// The transports an image reference may start with, for completion.
inline constexpr std::string_view kImageTransports[] = {"docker://", "docker-archive:", "oci:",
                                                        "oci-archive:"};

}  // namespace de::cli
