// The parsed-repodata cache of the solver (private to the conda module).
//
// Parsing a conda-forge-sized repodata.json (~300 MB) takes seconds; a solve needs only the
// records of the names its request can reach. The cache stores one subdir's parsed records in a
// compact binary file grouped by package name, with each name's dependency names, so that a warm
// solve reads the file, walks the name graph from the request, and decodes only the records of
// the reachable names.
//
// A cache file is keyed by its source: the repodata file's path, size and modification time and
// the cache format version. Any change to the source makes the key differ, and the cache is
// rebuilt (written to a temp file and renamed, so concurrent readers see an old or a new file,
// never a partial one). A cache file that does not parse is ignored and rewritten.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/repodata.hpp"

namespace de::conda::detail {

// The cache key of a repodata file: "path|size|mtime_ns|format".
Result<std::string> repodata_cache_key(const std::filesystem::path& source);
// The cache file for a source under `cache_dir` (named by a hash of the source path).
std::filesystem::path parsed_cache_path(const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& source);

// One subdir's records, as stored in a cache file (the file's bytes are held in memory).
class CachedRepodata {
 public:
  // Encodes `repodata` (grouped by name) under `key`.
  static std::string encode(const Repodata& repodata, std::string_view key);
  // Decodes the header and name table; nullopt when `bytes` is not a cache file for `key`.
  static std::optional<CachedRepodata> decode(std::string bytes, std::string_view key);
  // Maps a cache file read-only (records are decoded from the mapping on demand, so only the
  // pages of the reachable names are read). nullopt when absent or not a cache for `key`.
  static std::optional<CachedRepodata> open(const std::filesystem::path& file,
                                            std::string_view key);

  // Names of the packages in this subdir and, per name, the names its records depend on.
  const std::unordered_map<std::string_view, std::vector<std::string_view>>& dependency_names()
      const {
    return deps_;
  }
  // A Repodata holding the records of `names` only (header fields as in the original).
  Repodata materialize(const std::unordered_set<std::string_view>& names) const;
  // Every record.
  Repodata materialize_all() const;

  std::size_t skipped() const { return skipped_; }

 private:
  struct NameEntry {
    std::string_view name;
    std::uint32_t first = 0, count = 0;
  };
  Repodata header() const;
  PackageRecord decode_record(std::uint32_t index) const;

  static std::optional<CachedRepodata> decode_view(std::shared_ptr<const void> owner,
                                                   std::string_view bytes, std::string_view key);

  std::shared_ptr<const void> owner_;  // keeps `bytes_` alive (a string or a mapping)
  std::string_view bytes_;
  std::string subdir_, base_url_;
  int repodata_version_ = 1;
  std::size_t skipped_ = 0;
  std::vector<NameEntry> names_;
  std::unordered_map<std::string_view, std::size_t> name_index_;
  std::unordered_map<std::string_view, std::vector<std::string_view>> deps_;
  std::vector<std::uint64_t> offsets_;  // record index -> byte offset
};

}  // namespace de::conda::detail
