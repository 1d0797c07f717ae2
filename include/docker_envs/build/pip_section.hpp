// The `- pip:` section of an environment.yml, resolved for one platform after the conda solve:
// pip's requirement lines (pypi/pip_requirements.hpp) read relative to the environment file, the
// image's Python described by the solved `python` record, the platform and `__glibc`
// (pypi::Target), and the distributions the conda Python packages install counted as installed;
// pypi::resolve_for_image picks one wheel per distribution. `build` installs them as
// WheelToInstall (after the conda packages, in their own layers); `lock` writes them as
// conda-lock `manager: pip` entries, which a build reads back as the same wheels.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/progress.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "docker_envs/conda/virtual_packages.hpp"

namespace de::build {

struct PipSectionOptions {
  // Index answers are cached (revalidated) under <cache_root>/pypi-http; empty: no cache.
  std::filesystem::path cache_root;
  // ${VAR} in pip lines (a token in an index URL); unset: such a line is an error.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  bool offline = false;  // a pip section then needs a lock (InvalidArgument)
  std::string extra_ca_file;
  progress::Reporter* reporter = nullptr;  // stage "pypi": the resolution
};

struct ResolvedPip {
  // One wheel per distribution, sorted by normalised name; REQUESTED as requested_roots() says.
  std::vector<WheelToInstall> wheels;
  // The same distributions as conda-lock `manager: pip` entries (name, version, url, sha256,
  // the dependencies that apply to the image as "name specifiers").
  std::vector<conda::PypiLockEntry> lock_entries;
};

// Nothing (no wheels) when `spec` has no pip items. Otherwise: InvalidArgument when the packages
// hold no `python` (naming the file), for --offline, or for a bad pip line (file:line);
// Unsatisfiable (exit 3) with the resolver's explanation when no set of wheels fits; index errors
// with redacted URLs. `virtuals` are the solve's overrides (for `__glibc`).
Result<ResolvedPip> resolve_pip_section(const conda::EnvironmentSpec& spec,
                                        std::span<const conda::PackageRecord> packages,
                                        const std::string& platform,
                                        const conda::VirtualPackageOverrides& virtuals,
                                        const PipSectionOptions& options);

// The `*.dist-info` names the conda packages are taken to install: a package that depends on
// `python` (a Python library) installs `<name>-<version>.dist-info` — conda-forge's packages
// carry their PyPI name and version. Those distributions are never replaced by a wheel; a wheel
// that does collide with a conda package's file is refused at build time, naming both.
std::vector<std::string> conda_dist_infos(std::span<const conda::PackageRecord> packages);

// Which pip distributions get REQUESTED (PEP 376): those no other one of them depends on. A lock
// cannot say what was asked for, so both a build from environment.yml and one from its lock use
// this rule and give the same bytes. `entries[i].requires_dist` are "name specifiers" texts.
std::vector<bool> requested_roots(std::span<const conda::PypiLockEntry> entries);

}  // namespace de::build
