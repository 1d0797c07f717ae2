// Builds new layers deterministically from host files and in-memory contents.
//
// The builder only records what to add (paths, metadata, where the bytes live); build() returns a
// Layer whose tar is generated lazily each time it is opened, reading host files on demand, so a
// layer is never held whole in memory. The tar depends only on the recorded entries:
//   - entries sorted bytewise by image path; every parent directory appears once, before its
//     children (mode 0755, mtime = SOURCE_DATE_EPOCH or 0, unless added explicitly);
//   - uid/gid from the options (default 0), empty uname/gname;
//   - mtimes clamped to source_date_epoch when set;
//   - symlinks are kept, never followed; host files sharing (device, inode) within the layer become
//     hardlinks to the first path in sorted order; sockets are skipped with a warning.
// Adding the same image path again replaces the earlier entry (and, when the earlier one was a
// directory replaced by a non-directory, everything under it).
//
// A LayerBuilder is not thread-safe. The built Layer is immutable and safe to open from several
// threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/tar.hpp"

namespace de::oci {

struct LayerBuildOptions {
  // fnmatch(3) globs (no flags: '*' also matches '/'), matched against each walked entry's
  // basename and its image path (relative, e.g. "opt/env/lib/x.pyc"). An excluded directory drops
  // its whole subtree. They apply to entries found by add_directory(), not to paths named
  // explicitly with add_file() and the in-memory adders.
  std::vector<std::string> excludes;
  std::optional<std::int64_t> uid, gid;  // default 0
  // Clamp every mtime to this (seconds since the epoch), as SOURCE_DATE_EPOCH asks.
  std::optional<std::int64_t> source_date_epoch;
};

class LayerBuilder {
 public:
  explicit LayerBuilder(LayerBuildOptions options);
  ~LayerBuilder();
  LayerBuilder(LayerBuilder&&) noexcept;
  LayerBuilder& operator=(LayerBuilder&&) noexcept;

  // Adds `host` (a directory) and everything below it at `image_path` ("" or "/" = the root; the
  // root directory itself gets no entry). Symlinks inside are recorded, not followed.
  Status add_directory(const std::filesystem::path& host, std::string_view image_path);
  // Adds one host file (or symlink, kept as a symlink; or directory, without its contents) as
  // `image_path`.
  Status add_file(const std::filesystem::path& host, std::string_view image_path);
  // In-memory entries. Image paths are normalised; one that climbs above the root is refused at
  // build() (these adders cannot fail, so the error is deferred).
  void add_contents(std::string_view image_path, std::string contents, std::uint32_t mode = 0644);
  void add_symlink(std::string_view image_path, std::string_view target);
  void add_directory_entry(std::string_view image_path, std::uint32_t mode = 0755);

  // The layer: blob() and diff_id() are empty, tar_size() is exact, open_tar() generates the tar.
  // Fails when an image path was refused.
  Result<LayerPtr> build() &&;

  struct Node;  // one recorded entry (defined in layer_builder.cpp)

 private:
  // `parent_fd` >= 0: an open directory holding `host` under the file name `name`, which is
  // looked up in it (a walk stats each entry relative to its directory, not by its whole path).
  Status add_host(const std::filesystem::path& host, const std::string& image_path, bool walk,
                  bool top, int parent_fd = -1, const char* name = nullptr);
  void put(std::string path, std::shared_ptr<Node> node);

  LayerBuildOptions options_;
  std::map<std::string, std::shared_ptr<Node>> nodes_;
  std::vector<std::string> sources_;  // for describe()
  std::optional<Error> deferred_error_;
};

}  // namespace de::oci
