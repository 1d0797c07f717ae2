// The PyPI wheels of a build (BuildRequest::wheels): fetched, verified and extracted through the
// package cache, planned for the environment's Python by pypi::plan_wheel, checked against the
// conda packages' files. builder.cpp turns them into layers after the conda ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::build::detail {

struct PlannedWheel {
  std::string dist;           // "pip-23.0.1" (METADATA name and version): the entries' package
  std::string content_base;   // the wheel file's sha256 (hex): what its unchanged files are keyed by
  std::filesystem::path dir;  // its extracted directory in the package cache
  std::vector<conda::InstallEntry> entries;
  std::uint64_t size = 0;  // bytes of its files
};

// How many of the image's `max_layers` the wheels may use: a quarter (at least 1, at most one
// per wheel); the conda packages are planned with the rest.
std::size_t wheel_layer_budget(std::size_t wheels, std::size_t max_layers);

// The layer label of a group of wheels ("pypi pip-23.0.1", "3 pypi packages: a-1, b-2, c-3").
std::string wheel_layer_label(const std::vector<std::string>& dists);

struct WheelFetchStats {
  std::size_t downloaded = 0;
  std::uint64_t bytes = 0;
};

// Fetches the request's wheels into <package_cache>/wheels (the conda packages' policy: sha256
// verified before extraction, temp + rename, shared between processes) and plans each for the
// environment's `python` record among `records`, under `prefix`. Fails naming the wheel for a
// file that is not a wheel (a source distribution would need its build backend run), no python
// in the environment, or a file that another wheel or a conda package already installs (`taken`:
// image path -> "the conda package numpy-..."): pip never overwrites a conda package's file.
// The fetch is the stage "wheels" of request.reporter (a task per wheel: downloaded / cached /
// local), as the conda packages' "fetch".
Result<std::vector<PlannedWheel>> plan_wheels(const BuildRequest& request,
                                              std::span<const conda::PackageRecord> records,
                                              std::map<std::string, std::string> taken,
                                              const std::string& prefix, WheelFetchStats& stats);

}  // namespace de::build::detail
