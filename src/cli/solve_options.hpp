// Command-line options shared by the commands that solve an environment (`solve`, `lock`,
// `build`): an environment file, channels, specs, target platform, channel priority, and the
// CONDA_OVERRIDE_* variables that describe the target's virtual packages. The CLI is the only
// code that reads argv and the environment; this turns what it read into an
// conda::EnvironmentSolveRequest.
//
// Usage: keep a SolveFlags in the command's options, call add_solve_flags() when building the
// subcommand, and make_solve_request() in its action.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::cli {

struct SolveFlags {
  // Positional arguments: [ENV_FILE] [SPEC]... (split_env_file_and_specs).
  std::vector<std::string> args;
  std::string file;                   // -f/--file ENV_FILE
  std::vector<std::string> channels;  // -c/--channel, priority order, before the file's
  std::vector<std::string> specs;     // --spec SPEC (besides positional ones)
  std::string platform = "linux-64";  // --platform
  std::string channel_priority = "strict";
  std::string cache_dir;  // --repodata-cache DIR
  bool offline = false;   // --offline: repodata only from the cache
};

struct SolveFlagsOptions {
  bool positional = true;   // add [ENV_FILE] [SPEC]... positionals
  bool spec_option = true;  // add --spec SPEC (repeatable)
};

void add_solve_flags(CLI::App* sub, SolveFlags& flags, SolveFlagsOptions options = {});

// Reads the variables a solve takes from the environment (injectable for tests).
using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
GetEnv process_env();

struct SolveRequest {
  conda::EnvironmentSolveRequest request;
  std::optional<conda::EnvironmentSpec> spec;  // the environment file, when one was given
};

// The positional arguments of `solve`, `lock` and `build`: [ENV_FILE] [SPEC]... The first is the
// environment file when it ends in .yml, .yaml, .lock or .txt or names an existing file (and -f
// gave none); the others, or all of them, are match specs.
struct EnvFileAndSpecs {
  std::string file;  // `file` (-f) when given, else the first argument if it is a file, else ""
  std::vector<std::string> specs;
};
EnvFileAndSpecs split_env_file_and_specs(const std::vector<std::string>& args,
                                         const std::string& file);

// Builds the request: the environment file (if any) is loaded and its warnings logged; channels
// are the -c ones followed by the file's (duplicates dropped, ${VAR} expanded from the
// environment; local paths made absolute and normal, a file's relative ones from its directory);
// specs are the file's (for the target platform) followed by the command line's.
// Virtual packages are overridden by CONDA_OVERRIDE_{GLIBC,CUDA,OSX,LINUX,WIN,ARCHSPEC}.
// With neither a file nor specs, ./environment.yml is used when present. InvalidArgument (a usage
// problem) when there is still nothing to solve.
Result<SolveRequest> make_solve_request(const SolveFlags& flags, const GetEnv& getenv);

// Which part of a lock file to install (`build`, `env install`): -e/--environment NAME (default
// "default"; pixi locks have several) and --category NAME (repeatable; conda-lock categories added
// to "main").
struct LockSelectionFlags {
  std::string environment = "default";
  std::vector<std::string> categories;  // besides "main"
  conda::LockSelection selection(std::string platform) const;
};
void add_lock_selection_flags(CLI::App* sub, LockSelectionFlags& flags);

// The default cache of parsed repodata: $XDG_CACHE_HOME/docker-envs/repodata (or ~/.cache/...).
std::string default_repodata_cache(const GetEnv& getenv);

}  // namespace de::cli
