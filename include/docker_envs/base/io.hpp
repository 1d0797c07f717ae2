// Streaming I/O: pull-based Readers and push-based Writers, and the file-backed implementations.
//
// Layers flow through chains of these (tar -> hash -> compress -> hash -> file) and are never held
// whole in memory. None of these types is thread-safe; hand a chain to one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/cleanup.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/os.hpp"

namespace de {

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// A source of bytes. read() fills up to buf.size() bytes and returns how many; 0 means end of
// stream. Errors are sticky: after one, further reads fail too.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<size_t> read(std::span<std::byte> buf) = 0;
};

// A sink for bytes. close() flushes and finalises (trailers, fsync-free); writing after close()
// is a bug. Destroying an unclosed Writer abandons the output.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual Status write(std::span<const std::byte> data) = 0;
  Status write(std::string_view s) { return write(as_bytes(s)); }
  virtual Status close() { return {}; }
  // Appends the first `size` bytes of the file at `path` without passing them through user space,
  // when this writer is a file that can (AtomicFileWriter: copy_range). Returns false, having
  // written nothing, when it cannot; fails when the file is shorter than `size`.
  virtual Result<bool> append_file(const std::filesystem::path& path, std::uint64_t size);
};

// Reads everything, failing with Corruption when more than `limit` bytes arrive (for metadata
// documents such as manifests, which must never be unbounded).
Result<std::string> read_all(Reader& in, size_t limit = 64 << 20);
// The same, appended to `out` (the limit counts what `out` holds): a caller that reserved room for
// what it expects reads without the copies of a growing string.
Status append_all(Reader& in, std::string& out, size_t limit = 64 << 20);
// Copies until end of stream; returns the number of bytes copied. Does not close `out`.
Result<std::uint64_t> copy(Reader& in, Writer& out);

// The name of a temp file for `name` in the same directory: ".NAME.tmp-<16 hex digits>". Every
// temp file this library makes beside its destination is named so (AtomicFileWriter).
std::string temp_file_name(std::string_view name);
// Whether `name` is such a temp file name (a leftover of a process killed before it could remove
// it: readers of a directory skip these).
bool is_temp_file_name(std::string_view name);

// Reads a whole (small) file.
Result<std::string> read_file(const std::filesystem::path& path, size_t limit = 64 << 20);
// Writes a whole file atomically: a temp file beside it, then rename.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

class StringReader final : public Reader {
 public:
  explicit StringReader(std::string data) : data_(std::move(data)) {}
  Result<size_t> read(std::span<std::byte> buf) override;

 private:
  std::string data_;
  size_t pos_ = 0;
};

class StringWriter final : public Writer {
 public:
  using Writer::write;
  Status write(std::span<const std::byte> data) override;
  const std::string& str() const { return data_; }
  std::string take() { return std::move(data_); }

 private:
  std::string data_;
};

// Discards everything (used to hash or count a stream).
class NullWriter final : public Writer {
 public:
  Status write(std::span<const std::byte>) override { return {}; }
};

// A read-only file. open_range() limits reads to [offset, offset+length), reading with pread so
// several readers may share one descriptor-less path safely.
class FileReader final : public Reader {
 public:
  static Result<std::unique_ptr<FileReader>> open(const std::filesystem::path& path);
  static Result<std::unique_ptr<FileReader>> open_range(const std::filesystem::path& path,
                                                        std::uint64_t offset, std::uint64_t length);
  ~FileReader() override;
  Result<size_t> read(std::span<std::byte> buf) override;

 private:
  FileReader(UniqueFd fd, std::string name, std::uint64_t offset,
             std::optional<std::uint64_t> length);
  UniqueFd fd_;
  std::string name_;
  std::uint64_t pos_;
  std::optional<std::uint64_t> end_;
};

// Writes to a temp file in the destination's directory (temp_file_name); commit() renames it into
// place. Destroyed without commit(), the temp file is removed: a failed write leaves nothing
// half-written. Until the rename a signal that ends the process removes it too (cleanup.hpp).
class AtomicFileWriter final : public Writer {
 public:
  static Result<std::unique_ptr<AtomicFileWriter>> create(const std::filesystem::path& path);
  ~AtomicFileWriter() override;
  using Writer::write;
  Status write(std::span<const std::byte> data) override;
  Result<bool> append_file(const std::filesystem::path& path, std::uint64_t size) override;
  // Writes at an absolute offset in the file already written (used to patch tar headers).
  Status pwrite(std::uint64_t offset, std::span<const std::byte> data);
  std::uint64_t bytes_written() const { return size_; }
  // Sets the file's permission bits (applied to the temp file now, so they hold from the rename
  // on).
  Status set_permissions(std::filesystem::perms perms);
  // Flushes and renames into place.
  Status commit();
  // As commit(), to a path decided only after writing (a content-addressed name); it must be in
  // the same directory or at least on the same file system.
  Status commit_as(const std::filesystem::path& path);

 private:
  AtomicFileWriter(UniqueFd fd, std::filesystem::path tmp, std::filesystem::path dest,
                   CleanupGuard guard);
  Status flush();
  Status write_direct(std::span<const std::byte> data);
  UniqueFd fd_;
  std::filesystem::path tmp_, dest_;
  CleanupGuard guard_;
  std::string buf_;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

// Passes bytes through to `next` (not owned) while hashing and counting them.
class HashingWriter final : public Writer {
 public:
  explicit HashingWriter(Writer& next) : next_(next) {}
  using Writer::write;
  Status write(std::span<const std::byte> data) override;
  Status close() override { return next_.close(); }
  std::uint64_t bytes() const { return bytes_; }
  // Digest of everything written; call once, after the last write.
  Digest finish() { return hash_.finish(); }

 private:
  Writer& next_;
  Sha256 hash_;
  std::uint64_t bytes_ = 0;
};

// Reads through `inner`, hashing; at end of stream fails with Corruption if the digest (or the
// size, when given) differs from what was expected. `what` names the stream in the error.
class VerifyingReader final : public Reader {
 public:
  VerifyingReader(std::unique_ptr<Reader> inner, Digest expected,
                  std::optional<std::uint64_t> expected_size, std::string what);
  Result<size_t> read(std::span<std::byte> buf) override;

 private:
  std::unique_ptr<Reader> inner_;
  Digest expected_;
  std::optional<std::uint64_t> expected_size_;
  std::string what_;
  Sha256 hash_;
  std::uint64_t bytes_ = 0;
  bool verified_ = false;
};

// A directory that exists only if the operation making it succeeds (a new OCI layout, a staging
// directory): removed with its contents when destroyed before keep(), and when a signal ends the
// process first (cleanup.hpp).
class NewDirectory {
 public:
  // Creates `path`, which must not exist (its missing parents are created and stay).
  static Result<NewDirectory> create(const std::filesystem::path& path);
  NewDirectory(NewDirectory&&) noexcept;
  NewDirectory& operator=(NewDirectory&&) noexcept;
  ~NewDirectory();
  const std::filesystem::path& path() const { return path_; }
  // The operation succeeded: the directory stays.
  void keep();

 private:
  friend class TempDir;
  NewDirectory(std::filesystem::path path, CleanupGuard guard)
      : path_(std::move(path)), guard_(std::move(guard)) {}
  void remove() noexcept;
  std::filesystem::path path_;
  CleanupGuard guard_;
};

// Creates `root`/`rel` and whichever of its parents below `root` are missing, one level at a time,
// never `root` itself, which must exist: once `root` is gone (removed by a signal's cleanup, say)
// nothing below it can be made again. Components that exist are left as they are, whatever they
// are; callers that must refuse symlinks on the way check for them.
Status make_dirs_below(const std::filesystem::path& root, std::string_view rel);

// Creates the directory `path` (not its parents), or accepts it when it is an empty directory
// already (one a caller made and registered for cleanup first); fails otherwise.
Status make_empty_dir(const std::filesystem::path& path);

// A fresh directory, always removed with its contents on destruction (and by a signal that ends
// the process first).
class TempDir {
 public:
  // Creates a fresh directory under `parent` (default: $TMPDIR or /tmp).
  static Result<TempDir> create(const std::filesystem::path& parent = {},
                                std::string_view prefix = "docker-envs-");
  const std::filesystem::path& path() const { return dir_.path(); }

 private:
  explicit TempDir(NewDirectory dir) : dir_(std::move(dir)) {}
  NewDirectory dir_;
};

}  // namespace de
