// An existing conda environment (`build --from-prefix PREFIX`): its exact packages, from the
// records conda (or docker-envs env install) wrote into PREFIX/conda-meta/*.json, and the files
// of PREFIX that no record owns.
//
// The image is never made by copying PREFIX: its packages are fetched again (package cache, else
// their URL), verified against the records' sha256/md5 and installed fresh at the image prefix.
// What the records do not account for (pip installs, edited or generated files) cannot be
// rebuilt that way; it is listed, never silently copied or dropped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::build {

struct PrefixEnvironment {
  std::vector<conda::PackageRecord> packages;  // install order (dependencies first)
  std::string platform;  // the records' subdir other than noarch; "" when all are noarch
  // Regular files and symlinks under PREFIX that no record lists (in `files` or
  // `paths_data.paths[]._path`), sorted. Not counted: conda-meta/ (the records themselves and the
  // history), pkgs/ and envs/ at the top (a base environment's package cache and other
  // environments), and Python bytecode (`*.pyc` and anything under `__pycache__/`), which Python
  // writes at run time.
  std::vector<std::string> unowned;
};

// Reads PREFIX/conda-meta/*.json. InvalidArgument naming the record file for a record without a
// url, or without an md5 or sha256 to verify the package against; NotFound when PREFIX has no
// conda-meta directory (not a conda environment).
Result<PrefixEnvironment> read_prefix_environment(const std::filesystem::path& prefix);

// "PREFIX: 3 file(s) that no package record owns are not in the image (pip installs or edits?):
// a, b, c" naming the first `shown` and counting the rest. "" when there are none.
std::string unowned_files_warning(const std::filesystem::path& prefix,
                                  const std::vector<std::string>& unowned, std::size_t shown = 20);

}  // namespace de::build
