// The installer's private pieces (installer.hpp is the public face), one file each:
//   package_metadata.cpp  what a package lists: info/paths.json, or info/files + info/has_prefix
//   prefix_replace.cpp    placeholder -> prefix in file contents (replace_prefix, open_content)
//   noarch_python.cpp     noarch: python relocation, info/link.json entry points
//   package_plan.cpp      one package's entries and its conda-meta record
//   installer.cpp         the environment's plan: packages planned in parallel, merged in order
//   install_writer.cpp    laying a plan out in a directory (write_to_directory)
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conda/package_plan_cache.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::conda::detail {

// A reader of `data` with `placeholder` replaced by `prefix`: the bytes replace_prefix returns,
// produced as they are read (a large file is never held twice in memory). `keep` owns what `data`
// views (a mapping of the file), or nothing when the caller keeps `data` alive. Errors (a binary
// placeholder shorter than the prefix) name `what` and come from read().
std::unique_ptr<Reader> prefix_replacing_reader(std::optional<Mapping> keep, std::string_view data,
                                                std::string placeholder, std::string prefix,
                                                PlaceholderMode mode, std::string what);

// One path a package lists.
struct PathSpec {
  std::string path;  // normalised, relative to the prefix (before noarch relocation)
  enum class Kind { File, Softlink, Directory } kind = Kind::File;
  std::string placeholder;
  PlaceholderMode mode = PlaceholderMode::Text;
  std::optional<Digest> sha256;
  std::optional<std::uint64_t> size;
};

class PackageDir;  // package_paths.hpp

// The paths of the extracted package `pkg`: info/paths.json; else the legacy info/files with
// info/has_prefix; else (hand-made packages) every file outside info/, sorted. `what` names the
// package in errors. The metadata files are read without following links.
Result<std::vector<PathSpec>> read_paths(const PackageDir& pkg, std::string_view what);

// A pre/post-link or pre-unlink script (bin/.NAME-post-link.sh, ...), which is never run.
bool is_link_script(std::string_view path);

// noarch: python: site-packages/ -> the environment's site-packages, python-scripts/ -> bin/.
std::string relocate_noarch_python(const std::string& path, const PythonInfo& python);

// The entry points of a noarch: python package (info/link.json), as (name, script) pairs: each
// script runs `<prefix>/bin/python`. None when the package has no info/link.json.
Result<std::vector<std::pair<std::string, std::string>>> python_entry_points(
    const PackageDir& pkg, std::string_view prefix, std::string_view what);

// What planning one package needs from the environment's planner.
struct PlanContext {
  const InstallOptions& options;
  const std::string& prefix_rel;            // "opt/conda"
  const std::optional<PythonInfo>& python;  // set whenever a noarch: python package is planned
};

// The entries of one package, in install order, and the warnings about it: what the plan cache
// keeps (see package_plan_cache.hpp for what they depend on). `rec` is the merged record.
Result<PackagePlan> plan_package(const PackageToInstall& input, const PackageRecord& rec,
                                 const PlanContext& ctx);

}  // namespace de::conda::detail
