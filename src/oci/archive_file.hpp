// Private: random access to the members of a tar file (a `docker save` tarball or an oci-archive),
// without extracting it. The tar is indexed once (names, data offsets, sizes, links); members are
// then opened as byte ranges of the file, so layers are read lazily and several at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"

namespace de::oci {

class ArchiveFile {
 public:
  struct Member {
    std::uint64_t offset = 0;  // of the data in the (uncompressed) tar file
    std::uint64_t size = 0;
    bool is_dir = false;
    std::string link;  // symlink target (resolved relative to the member's directory) or hardlink
  };

  // Indexes `path`. A gzip- or zstd-compressed tar is first decompressed into a temp file that the
  // ArchiveFile owns (and removes when the last reference goes). A decompression bomb is refused:
  // the temp file may grow to `max_staged` bytes, by default max(100 x the compressed size,
  // 1 GiB).
  static Result<std::shared_ptr<const ArchiveFile>> open(const std::filesystem::path& path,
                                                         std::uint64_t max_staged = 0);

  bool contains(std::string_view name) const;
  // Data of a regular member, following symlinks and hardlinks inside the archive.
  Result<std::unique_ptr<Reader>> open_member(std::string_view name) const;
  Result<std::uint64_t> member_size(std::string_view name) const;
  Result<std::string> read_member(std::string_view name, size_t limit = 64 << 20) const;
  // Top-level names of members (for error messages and content sniffing).
  std::vector<std::string> names() const;
  const std::filesystem::path& path() const { return source_; }

 private:
  Result<const Member*> resolve(std::string_view name) const;
  std::filesystem::path source_;  // as given by the user (for messages)
  std::filesystem::path data_;    // the uncompressed tar actually read
  std::optional<TempDir> owned_;
  std::map<std::string, Member, std::less<>> members_;
};

}  // namespace de::oci
