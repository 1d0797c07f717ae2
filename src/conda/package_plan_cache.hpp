// The installer's per-package plan cache (private to the conda module).
//
// Planning a package (reading info/paths.json, an lstat per file, rewriting placeholder files,
// writing its conda-meta record) is a pure function of the package's bytes, its merged record, the
// requested spec, the prefix, the site-packages path (noarch: python) and the planner's options.
// A warm `docker-envs build` of a 100-package environment spends most of its time there before it
// finds every layer in the layer cache; this cache keeps each package's planned entries under a
// hash of exactly those inputs, so a rebuild re-plans only the packages that changed.
//
// Files are `<root>/<key>.plan`, written to a temp file and renamed. A file that does not decode
// (damaged, foreign, truncated) is a miss and is rewritten. Entry paths are checked on the way in:
// below the prefix, no `..` segments, host files inside the package's directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::conda::detail {

// What one package contributes before packages are merged: its entries in install order and the
// warnings about it (link scripts not run, listed files missing).
struct PackagePlan {
  std::vector<InstallEntry> entries;
  std::vector<std::string> warnings;
};

// Everything a package's plan depends on. Bump kPackagePlanFormat when the planner's output for
// the same inputs changes.
inline constexpr std::string_view kPackagePlanFormat = "docker-envs package plan 2";
struct PackagePlanInputs {
  std::string_view content_id;      // the package's identity: its sha256 and cache entry name
  std::string_view index_json;      // info/index.json as read
  const PackageRecord* known;       // what the caller knew (url, channel, hashes...)
  std::string_view requested_spec;  // written into conda-meta
  std::string_view prefix;          // "/opt/conda"
  std::string_view site_packages;   // noarch: python packages only, else ""
  std::uint64_t max_rewrite_in_memory;
  bool verify_files;
};
Digest package_plan_key(const PackagePlanInputs& inputs);

// Encodes `plan` with host paths relative to `dir` (the package's extracted directory).
std::string encode_package_plan(const PackagePlan& plan, const std::filesystem::path& dir);
// Decodes what encode_package_plan wrote, with host paths below `dir`, every entry's package set
// to `package`; nullopt when `bytes` is not a valid plan whose entries lie below `prefix_rel`.
std::optional<PackagePlan> decode_package_plan(std::string_view bytes,
                                               const std::filesystem::path& dir,
                                               std::string_view package,
                                               std::string_view prefix_rel);

class PackagePlanCache {
 public:
  explicit PackagePlanCache(std::filesystem::path root) : root_(std::move(root)) {}
  std::optional<PackagePlan> find(const Digest& key, const std::filesystem::path& dir,
                                  std::string_view package, std::string_view prefix_rel) const;
  Status put(const Digest& key, const PackagePlan& plan, const std::filesystem::path& dir) const;

 private:
  std::filesystem::path root_;
};

}  // namespace de::conda::detail
