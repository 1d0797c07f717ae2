// Operating-system handles in one place: an owned file descriptor, a read-only file mapping, and
// the loops every writer of a descriptor needs (all of a buffer despite EINTR and short writes; a
// kernel-side copy with a fallback through a buffer).
//
// Errors name the path. Descriptors are plain ints here so that no C library type reaches this
// header; every descriptor this library opens is close-on-exec. None of these types is
// thread-safe, but a Mapping's bytes may be read from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de {

class Thread;  // parallel.hpp

// An owned file descriptor: closed on destruction, move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership: the caller closes the descriptor.
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor held (errors ignored) and takes `fd`.
  void reset(int fd = -1) noexcept;
  // Closes now, reporting a failure (a delayed write error) as "closing <what>".
  Status close(std::string_view what);

 private:
  int fd_ = -1;
};

enum class OpenMode {
  Read,             // read-only, following symlinks ("opening PATH"); a regular file only: a
                    // FIFO, device or directory fails at once with Unsupported
  ReadNoFollow,     // as Read, but a symlink as the last component fails (ELOOP)
  CreateNew,        // write-only; fails when PATH exists, even as a symlink ("creating PATH")
  ReadWriteCreate,  // read-write, created when missing (lock files) ("opening PATH")
};

// Opens `path`; `permissions` apply when the file is created.
Result<UniqueFd> open_file(const std::filesystem::path& path, OpenMode mode,
                           unsigned permissions = 0644);

// Writes all of `data` to `fd`, retrying after EINTR and short writes. `what` names the file in
// the error ("writing WHAT: ..."). A pipe whose reader has gone fails with EPIPE (see
// subprocess.hpp for how SIGPIPE is kept from killing the process).
Status write_all(int fd, std::span<const std::byte> data, std::string_view what);
Status write_all(int fd, std::string_view data, std::string_view what);

// The size of the terminal `fd` is, in character cells; nullopt when it is not a terminal (or
// reports no size).
struct TerminalSize {
  unsigned columns = 0, rows = 0;
};
bool is_terminal(int fd);
std::optional<TerminalSize> terminal_size(int fd);

// Copies from `in` to `out`, from their current offsets: `size` bytes (failing with Corruption
// when `in` ends first), or until the end of `in`. Uses copy_file_range (no copy through user
// space) and falls back to read/write when the kernel refuses it for these files (EXDEV, ENOSYS,
// EINVAL, EOPNOTSUPP: another file system, a pipe, an old kernel). Returns the bytes copied.
Result<std::uint64_t> copy_range(int in, int out, std::string_view in_name,
                                 std::string_view out_name,
                                 std::optional<std::uint64_t> size = std::nullopt);

// A read-only private mapping of a whole regular file.
class Mapping {
 public:
  struct Options {
    // At least this many readable bytes past the end of the file, reading as zeros (parsers that
    // read a little past their input, such as simdjson).
    std::size_t padding = 0;
  };
  // Fails with NotFound when there is no such file, Unsupported when it is not a regular file,
  // Io when it cannot be mapped.
  static Result<Mapping> open(const std::filesystem::path& path, Options options);
  static Result<Mapping> open(const std::filesystem::path& path) { return open(path, {}); }

  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  const char* data() const { return static_cast<const char*>(addr_); }
  // The file's size.
  std::size_t size() const { return size_; }
  // Readable bytes from data(): size() plus at least the padding asked for.
  std::size_t capacity() const { return length_; }
  std::string_view view() const { return {data(), size_}; }

  // Maps the file's page-cached pages in on another thread while the caller starts reading
  // (MADV_POPULATE_READ; a kernel without it faults them in as they are read). The thread is
  // joined before the mapping goes away.
  void populate_in_background();

 private:
  Mapping(void* addr, std::size_t size, std::size_t length);
  void unmap() noexcept;
  void* addr_ = nullptr;
  std::size_t size_ = 0, length_ = 0;
  std::unique_ptr<Thread> populate_;
};

}  // namespace de
