// Private: RAII wrappers around libarchive for reading tar (any compression libarchive knows:
// bzip2, zstd, gzip, xz, none) and zip archives as streams, and for writing small archives (used by
// tests to build conda packages). libarchive types stay inside src/ffi/archive*.cpp.
//
// Neither class is thread-safe; each owns its `struct archive` handle and frees it on destruction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"

namespace de::ffi {

enum class ArchiveEntryType { File, Directory, Symlink, Hardlink, Other };

struct ArchiveEntry {
  std::string path;  // as stored (not normalised: callers validate it)
  ArchiveEntryType type = ArchiveEntryType::File;
  std::uint32_t mode = 0;   // permission bits (07777)
  std::uint64_t size = 0;   // data size of a regular file
  std::string link_target;  // symlink target, or the archive path a hardlink points at
};

enum class ArchiveKind {
  Tar,  // tar with any supported compression filter (or none)
  Zip,  // zip (stored or deflated members; ZIP64), streamed through its local headers
  // zip read through its central directory, as Python's zipfile (and so pip) reads it: member
  // modes (executable bits, symlinks) live only there. Needs a file: open_file() only.
  ZipCentralDirectory,
};

// Reads entries in order. The entry data of the current entry is read with read(); moving to the
// next entry skips what was not read. The ArchiveReader is itself a Reader over the current entry.
class ArchiveReader final : public Reader {
 public:
  // Opens a file. `name` (default: the path) prefixes errors.
  static Result<std::unique_ptr<ArchiveReader>> open_file(const std::filesystem::path& path,
                                                          ArchiveKind kind);
  // Reads an archive from a stream (not owned; must outlive the reader), for example a member of
  // another archive.
  static Result<std::unique_ptr<ArchiveReader>> open_stream(Reader& source, ArchiveKind kind,
                                                            std::string name);
  ~ArchiveReader() override;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // The next entry, or nullopt at the end of the archive.
  Result<std::optional<ArchiveEntry>> next();
  // Reads data of the current entry; 0 at its end.
  Result<size_t> read(std::span<std::byte> buf) override;
  const std::string& name() const { return name_; }

  struct Impl;

 private:
  ArchiveReader(std::unique_ptr<Impl> impl, std::string name);
  std::unique_ptr<Impl> impl_;
  std::string name_;
};

enum class ArchiveWriteFormat { TarBz2, TarZstd, Tar, ZipStored };

// Writes an archive to a file (temp + rename on close()). Entries are written whole.
class ArchiveWriter {
 public:
  static Result<std::unique_ptr<ArchiveWriter>> create(const std::filesystem::path& path,
                                                       ArchiveWriteFormat format);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  Status add_file(std::string_view path, std::string_view content, std::uint32_t mode = 0644);
  Status add_directory(std::string_view path, std::uint32_t mode = 0755);
  Status add_symlink(std::string_view path, std::string_view target);
  Status add_hardlink(std::string_view path, std::string_view target);
  Status close();

  struct Impl;

 private:
  explicit ArchiveWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace de::ffi
