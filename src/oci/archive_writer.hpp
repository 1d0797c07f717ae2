// Private: writes the outer tar of docker-archive and oci-archive outputs, in one pass.
//
// Blob names depend on digests that are known only after the blob is written; rather than
// staging blobs in temp files, a streamed member gets a placeholder header that is patched in
// place (same name length, same header size) once its name and size are known. The archive is
// a temp file renamed into place by commit(): a failed write leaves nothing at the destination.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "docker_envs/base/io.hpp"

namespace de::oci {

class ArchiveWriter {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> create(const std::filesystem::path& path);
  ~ArchiveWriter();

  Status add_directory(std::string_view name);
  Status add_file(std::string_view name, std::string_view content);

  // Starts a member whose final name has exactly `name_length` bytes (<= 100). Write its data to
  // the returned writer (valid until end_streamed), then call end_streamed with the name.
  Result<Writer*> begin_streamed(size_t name_length);
  Status end_streamed(std::string_view name);

  // Writes the end-of-archive marker and renames the file into place.
  Status commit();

 private:
  class Member;
  explicit ArchiveWriter(std::unique_ptr<AtomicFileWriter> file);
  std::unique_ptr<AtomicFileWriter> file_;
  std::unique_ptr<Member> open_;
  std::uint64_t header_offset_ = 0;
  size_t name_length_ = 0;
};

}  // namespace de::oci
