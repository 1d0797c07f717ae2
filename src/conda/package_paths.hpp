// Paths inside an extracted package, resolved without following links (private to the conda
// module).
//
// A package is hostile input: its payload may hold a symlink that its file list does not mention
// (`share/lnk -> /`), and list `share/lnk/etc/hostname`. A plain lstat/open/link of
// `<extracted dir>/share/lnk/etc/hostname` follows the link and reaches the host's file. Every
// path a package lists is therefore resolved relative to the package's directory with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (kernel >= 5.6), or component by component with
// O_NOFOLLOW | O_DIRECTORY where openat2 is missing: a listed path whose parent is a symlink (or
// leaves the directory) is an error naming the package and the path. The last component is never
// followed either: lstat() reports a symlink as a symlink, open_file() refuses one.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/os.hpp"

namespace de::conda::detail {

// A package's extracted directory, opened once. Paths are relative to it ("lib/libz.so.1"; they
// are normalised first, so `..` and absolute paths are refused too). `what` names the package in
// errors.
class PackageDir {
 public:
  static Result<PackageDir> open(const std::filesystem::path& dir, std::string what);

  const std::filesystem::path& path() const { return path_; }
  const std::string& what() const { return what_; }

  // The lstat of `rel`; nullopt when it (or one of its parents) does not exist. InvalidArgument
  // when a parent is a symlink or not a directory on the way out of the package.
  Result<std::optional<struct stat>> lstat(std::string_view rel) const;

  // Opens the regular file `rel` for reading; fails when it is missing, a symlink, or not a
  // regular file, or when a parent is a symlink.
  Result<UniqueFd> open_file(std::string_view rel) const;

  // The whole regular file `rel` (at most `max_size` bytes); nullopt when it does not exist.
  Result<std::optional<std::string>> read_file(std::string_view rel,
                                               std::size_t max_size = std::size_t{1} << 30) const;

  // The target of the symlink `rel`.
  Result<std::string> read_link(std::string_view rel) const;

 private:
  struct Parent {
    UniqueFd fd;       // the parent directory of the path (O_PATH)
    std::string name;  // the last component
  };
  // Opens the parent directory of `rel` without following links; nullopt when a parent is missing
  // (or is a regular file).
  Result<std::optional<Parent>> open_parent(std::string_view rel) const;

  PackageDir(std::filesystem::path path, std::string what, UniqueFd fd)
      : path_(std::move(path)), what_(std::move(what)), fd_(std::move(fd)) {}

  std::filesystem::path path_;
  std::string what_;
  UniqueFd fd_;
};

// Opens `rel` below the directory `dirfd` as O_PATH | O_DIRECTORY without following any symlink or
// leaving `dirfd`. Returns the fd, or -1 with errno: ELOOP (a symlink on the way), ENOENT, ENOTDIR,
// EXDEV (an escape). Exposed so that both implementations are tested.
int open_dir_beneath(int dirfd, std::string_view rel);
int open_dir_beneath_by_component(int dirfd, std::string_view rel);

}  // namespace de::conda::detail
