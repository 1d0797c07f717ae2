// The commands about docker-envs itself: `version`, `completion SHELL`, and the hidden
// `generate man` the build uses to write the man page. They describe the whole command table, so
// they are added last, to the root.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/common.hpp"

namespace de::cli {

// "docker-envs 0.1.0" and one line per linked library (what `version` and `--version` print).
std::string version_text();

void add_version(CLI::App& root, CommandTable& commands);
void add_completion(CLI::App& root, CommandTable& commands);
void add_generate(CLI::App& root, CommandTable& commands);

}  // namespace de::cli
