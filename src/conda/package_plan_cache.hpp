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
#include "docker_envs/base/os.hpp"
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
inline constexpr std::string_view kPackagePlanFormat = "docker-envs package plan 3";
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

// What merging a package into an environment needs of its plan, without its entries: written
// at the head of its encoding, with a checksum of its own, so that it is read without the rest.
// Paths are named by path_hash: two equal hashes may be a collision, which only costs the caller
// the full merge.
struct PlanSummary {
  std::uint64_t entries = 0;
  std::uint64_t size = 0;        // the entries' content bytes
  Digest body;                   // the digest of the encoded entries: equal digests, equal entries
  bool hardlinks_inside = true;  // every hard link's target is one of its own paths
  bool activation = false;       // a path holds "/etc/conda/activate.d/"
  std::vector<std::string> warnings;
  std::vector<std::uint64_t> paths;  // each entry's path, sorted
  std::vector<std::uint64_t> dirs;   // every directory above an entry, sorted, once each
  std::vector<std::uint64_t> links;  // the symlinks' paths, sorted
};
// A 64-bit hash of a path, the same on every machine (FNV-1a).
std::uint64_t path_hash(std::string_view path);
// The summary encode_package_plan writes at the head of `bytes`; nullopt when it does not decode
// or its checksum does not match (the entries after it are not read).
std::optional<PlanSummary> decode_plan_summary(std::string_view bytes);

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
  // The summary of the plan kept under `key`, read without its entries.
  std::optional<PlanSummary> summary(const Digest& key) const;
  Status put(const Digest& key, const PackagePlan& plan, const std::filesystem::path& dir) const;

 private:
  // The plan file of `key`, mapped and its use stamped; nullopt when absent or too large.
  std::optional<Mapping> map(const Digest& key) const;

  std::filesystem::path root_;
};

}  // namespace de::conda::detail
