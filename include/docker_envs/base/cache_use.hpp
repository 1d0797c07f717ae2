// Use records and leases for the caches under one cache root ($XDG_CACHE_HOME/docker-envs), which
// `docker-envs cache ls/prune` read (build/cache.hpp).
//
// Last use is recorded by us, not read from atime (mounts with noatime/relatime would lie): each
// cache directory (pkgs/, layers/, layers/plans/, repodata/, the registry's blobs) keeps a stamp
// per entry, `<cache dir>/.used/<entry>`, an empty file whose mtime is the entry's last use.
//
// Safety against `cache prune` while builds run, without a lock held per entry for a whole build:
// - a use stamps the entry while holding a shared flock() on its stamp, for as long as the caller
//   looks the entry up or creates it (EntryUse); a prune takes the exclusive lock without waiting
//   (busy: skipped), and removes the entry and then its stamp while holding it;
// - a running build holds a lease (CacheLease): a file under `<root>/.leases` with a shared flock()
//   for its lifetime, created before it uses any entry. A prune never removes an entry stamped
//   since the oldest live lease was taken (or since the prune started): every entry a running build
//   looked up or created carries a stamp at least that recent. A lease whose process died is
//   unlocked, and a prune deletes it.
// A stamp is a few system calls (open, flock, futimens, close): about 7.5 us on ext4, so a warm
// build's hundred-odd uses cost under a millisecond. Stamps and leases are hints for prune only: a failure to write
// one never fails a build.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/os.hpp"

namespace de {

// The stamp of `entry` (a path relative to `cache_dir`: "numpy-1.26.4-...", "downloads/x.conda").
std::filesystem::path use_stamp_path(const std::filesystem::path& cache_dir,
                                     std::string_view entry);

// A recorded use of one cache entry: the stamp is touched now and its shared lock held until the
// object is destroyed. Move-only; not thread-safe (one per thread and entry).
class EntryUse {
 public:
  // Never fails: when the stamp cannot be made (a read-only cache), the use goes unrecorded.
  static EntryUse begin(const std::filesystem::path& cache_dir, std::string_view entry) noexcept;
  bool recorded() const { return static_cast<bool>(fd_); }

 private:
  explicit EntryUse(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing releases the lock
};

// A running build's claim on a cache root (see above). Move-only; removes its file when destroyed.
class CacheLease {
 public:
  // Creates `<root>/.leases/<pid>-<n>` and holds a shared lock on it.
  static Result<CacheLease> acquire(const std::filesystem::path& root);
  CacheLease(CacheLease&&) noexcept = default;
  CacheLease& operator=(CacheLease&& other) noexcept;
  ~CacheLease();
  const std::filesystem::path& path() const { return path_; }
  // When the lease was taken, by the file system's clock (the one stamps are dated by).
  std::chrono::system_clock::time_point started() const;

 private:
  CacheLease(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  void release() noexcept;  // removes the file and drops the lock
  UniqueFd fd_;
  std::filesystem::path path_;
};

// The directory of the leases under a cache root.
std::filesystem::path lease_dir(const std::filesystem::path& root);

// The leases under `root` other than `own`: the start of the oldest one still held, and how many
// were left by processes that died (deleted here).
struct LeaseScan {
  std::optional<std::chrono::system_clock::time_point> oldest_live;
  int stale = 0;
};
LeaseScan scan_leases(const std::filesystem::path& root, const std::filesystem::path& own);

// For `cache prune`: the exclusive lock on an entry's stamp, taken without waiting. A missing
// stamp is made (already locked, dated 1970) so that no use can slip in unseen.
class EntryRemoval {
 public:
  // nullopt when a use holds the stamp now.
  static Result<std::optional<EntryRemoval>> try_begin(const std::filesystem::path& cache_dir,
                                                       std::string_view entry);
  // The last use the stamp records (1970 when none was).
  std::chrono::system_clock::time_point last_use() const;
  // Deletes the stamp (once the entry is gone) and releases the lock.
  void finish();

 private:
  EntryRemoval(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

// The modification time of `path` (not following a symlink), nullopt when it does not exist.
std::optional<std::chrono::system_clock::time_point> modified_time(const std::filesystem::path& path);

}  // namespace de
