// What an `environment.yml` declares: the conda part of an environment (name, channels, match
// specs, variables), with the line each item came from so that errors can point at it.
//
// Accepted top-level keys: `name`, `channels`, `dependencies`, `variables`, `prefix` (ignored, as
// conda ignores it when a name is given elsewhere), `platforms` (conda-lock's extension),
// `virtual_packages` (docker-envs': the target system, `__glibc: "2.36"`, `__cuda: "12.4"`; the
// CONDA_OVERRIDE_* variables win over it) and `image` (docker-envs' own section, read by the
// build command). Any other key is kept out and
// reported in `warnings` with its line. A `pip:` entry under `dependencies` holds pip requirement
// lines (PEP 508 requirements and pip options such as `--index-url`, `-r FILE`); they are kept
// as written, with their lines, in `pip`: the conda module does not read them (pypi's
// pip_requirements.hpp does, for the build).
//
// A dependency may carry a mamba selector (`- sel(linux): foo`); it is kept with the dependency
// and applied for a target platform by dependencies_for().
//
// Channel text is kept as written (environment variables such as ${TOKEN} are expanded by the CLI,
// the only code that reads the environment). EnvironmentSpec is a plain value.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/virtual_packages.hpp"

namespace de::conda {

struct EnvironmentDependency {
  std::string spec;      // match spec as written, validated by MatchSpec::parse
  int line = 0;          // 1-based line in the file, 0 when unknown
  std::string selector;  // "linux", "unix", "osx", "win" or a platform; empty: always
};

// One item of a `- pip:` list, as written.
struct EnvironmentPipItem {
  std::string text;
  int line = 0;  // 1-based line in the file, 0 when unknown
};

struct EnvironmentSpec {
  std::filesystem::path file;  // where it was read from (empty for in-memory text)
  std::string name;
  std::vector<std::string> channels;      // as written, priority order
  std::vector<std::string> dependencies;  // match specs as written, those without a selector
  std::vector<EnvironmentDependency> dependency_lines;  // every dependency with line + selector
  std::vector<EnvironmentPipItem> pip;  // every `- pip:` list's items, in file order
  std::vector<std::pair<std::string, std::string>> variables;  // file order
  std::vector<std::string> platforms;                          // conda-lock's `platforms`
  // The target's virtual packages as the file declares them (unset: the platform's default;
  // empty: removed). Version values are validated when parsed.
  VirtualPackageOverrides virtual_packages;
  std::vector<std::string> warnings;  // "environment.yml:7: unknown top-level key 'foo' (ignored)"

  // The match specs that apply to `platform` ("linux-64"): unconditional ones plus those whose
  // selector matches (`sel(unix)` matches linux-* and osx-*; `sel(linux)` linux-*; ...).
  std::vector<std::string> dependencies_for(std::string_view platform) const;
};

// Parses environment.yml text. `what` names the file in messages ("env.yml:12: ..."). Malformed
// YAML, a dependency that is not a valid match spec, a `pip:` entry that is not a list of strings,
// or a wrongly typed key give InvalidArgument with file:line.
Result<EnvironmentSpec> parse_environment_spec(std::string_view yaml, std::string_view what);
// Reads and parses a file (NotFound when it does not exist).
Result<EnvironmentSpec> load_environment_spec(const std::filesystem::path& path);

// True when the selector text applies to `platform` ("linux" matches "linux-64").
bool selector_matches(std::string_view selector, std::string_view platform);

}  // namespace de::conda
