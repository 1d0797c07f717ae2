// What changed since the last build of the same environment: after a successful build a record of
// it (its packages and layers) is kept in the cache root, `builds/<key>.json`; the next build of
// the same environment reads it and compares (`diff_builds`, pure).
//
// "The same environment" (BuildIdentity) is where the packages come from — the environment file's
// canonical path (with --lock too: the lock is how it is pinned, the file names the environment),
// the prefix's with --from-prefix, or nothing with specs only — plus the image's name (not its tag:
// `-t app:1` then `-t app:2` is the next build of app, and the diff is what one wants to see) and
// the conda platform. Each platform of a multi-platform build has its own record.
//
// A record is written to a temp file and renamed (a crash leaves the old record or the new one;
// concurrent builds of one environment: the last one wins). Records are hints: one that cannot be
// read or decoded is ignored (the caller says so with -v), one that cannot be written is skipped,
// and neither fails a build. `cache ls` / `cache prune` list and remove them as the kind `builds`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"

namespace de::build {

struct BuildIdentity {
  std::string source;    // "file:/abs/environment.yml", "prefix:/abs/env", "specs"
  std::string image;     // image name, without its tag
  std::string platform;  // conda platform

  // The record's file name stem: hex SHA-256 of the three fields.
  std::string key() const;
  bool operator==(const BuildIdentity&) const = default;
};

struct RecordedPackage {
  std::string name, version, build, channel;  // build and channel empty for a PyPI wheel
  bool pypi = false;                          // a wheel from a lock's PyPI entries
  bool operator==(const RecordedPackage&) const = default;
};

struct RecordedLayer {
  std::string label;  // "numpy-1.26.4-py311_0", "group 3 (5 packages)"
  Digest key, digest;  // the layer cache's key and the blob's digest
  bool reused = false;  // taken from the layer cache by this build (else produced)
};

struct BuildRecord {
  BuildIdentity identity;
  std::string tag;  // the image's tag at that build
  std::string manifest_digest;
  std::int64_t written = 0;  // unix seconds
  std::vector<RecordedPackage> packages;  // install order
  std::vector<RecordedLayer> layers;      // the environment's layers, bottom first
};

// The record as JSON text, and back. decode: InvalidArgument for anything but a record of this
// format (a truncated or edited file, another format version).
std::string encode_build_record(const BuildRecord& record);
Result<BuildRecord> decode_build_record(std::string_view text);

// `<cache_root>/builds/<identity.key()>.json`.
std::filesystem::path build_record_path(const std::filesystem::path& cache_root,
                                        const BuildIdentity& identity);

// The last record of `identity`: nullopt when there is none; an error when one exists but cannot
// be read or decoded, or is another environment's. Stamps the record's use (cache prune).
Result<std::optional<BuildRecord>> read_build_record(const std::filesystem::path& cache_root,
                                                     const BuildIdentity& identity);
// Writes `record` atomically (temp file + rename) in place of the last one, and stamps its use.
Status write_build_record(const std::filesystem::path& cache_root, const BuildRecord& record);

struct PackageChange {
  RecordedPackage before, after;  // same name and kind; version, build or channel differ
};

// What a build changed against the previous build of the same environment.
struct BuildChanges {
  std::string previous_tag, previous_manifest;
  std::int64_t previous_written = 0;
  // Each sorted by name (conda packages before PyPI ones of the same name).
  std::vector<RecordedPackage> added, removed;
  std::vector<PackageChange> changed;
  // This build's layers by label, bottom first: produced now, or taken from the layer cache.
  std::vector<std::string> layers_rebuilt, layers_reused;

  bool packages_changed() const { return !added.empty() || !removed.empty() || !changed.empty(); }
};

// Packages are matched by (kind, name); a package listed twice counts once (its last entry).
BuildChanges diff_builds(const BuildRecord& before, const BuildRecord& after);

}  // namespace de::build
