#include "docker_envs/base/os.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "docker_envs/base/parallel.hpp"

namespace de {
namespace fs = std::filesystem;

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

Status UniqueFd::close(std::string_view what) {
  int fd = release();
  if (fd >= 0 && ::close(fd) != 0) return fail_errno(fmt::format("closing {}", what), errno);
  return {};
}

Result<UniqueFd> open_file(const fs::path& path, OpenMode mode, unsigned permissions) {
  int flags = O_CLOEXEC;
  std::string_view verb = "opening ";
  switch (mode) {
    case OpenMode::ReadNoFollow:
      flags |= O_NOFOLLOW;
      [[fallthrough]];
    case OpenMode::Read:
      // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (cleared below).
      flags |= O_RDONLY | O_NONBLOCK;
      break;
    case OpenMode::CreateNew:
      flags |= O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
      verb = "creating ";
      break;
    case OpenMode::ReadWriteCreate:
      flags |= O_RDWR | O_CREAT;
      break;
  }
  int fd = ::open(path.c_str(), flags, static_cast<mode_t>(permissions));
  if (fd < 0) return fail_errno(std::string(verb) + path.string(), errno);
  UniqueFd owned(fd);
  if (mode == OpenMode::Read || mode == OpenMode::ReadNoFollow) {
    // Inputs are regular files only: a FIFO would block read() forever and a device such as
    // /dev/zero never ends.
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fail_errno(std::string(verb) + path.string(), errno);
    if (!S_ISREG(st.st_mode))
      return fail(Code::Unsupported, "{} is not a regular file (a FIFO or device?); refused",
                  path.string());
    if (::fcntl(fd, F_SETFL, O_RDONLY) != 0)
      return fail_errno(std::string(verb) + path.string(), errno);
  }
  return owned;
}

Status write_all(int fd, std::span<const std::byte> data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("writing {}", what), errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

Status write_all(int fd, std::string_view data, std::string_view what) {
  return write_all(fd, std::as_bytes(std::span(data.data(), data.size())), what);
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

std::optional<TerminalSize> terminal_size(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return std::nullopt;
  return TerminalSize{ws.ws_col, ws.ws_row};
}

Result<std::uint64_t> copy_range(int in, int out, std::string_view in_name,
                                 std::string_view out_name, std::optional<std::uint64_t> size) {
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;
  auto truncated = [&](std::uint64_t done) {
    return fail(Code::Corruption, "{} is truncated: expected {} bytes, found {}", in_name, *size,
                done);
  };
  std::uint64_t done = 0;
  bool kernel = true;
  while (kernel && (!size || done < *size)) {
    std::uint64_t want = size ? std::min(*size - done, kChunk) : kChunk;
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<std::size_t>(want), 0);
    if (n > 0) {
      done += static_cast<std::uint64_t>(n);
    } else if (n == 0) {
      if (size) return truncated(done);
      return done;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
      kernel = false;  // not between these files: copy through a buffer from where it stopped
    } else {
      return fail_errno(fmt::format("copying {} to {}", in_name, out_name), errno);
    }
  }
  if (kernel) return done;
  constexpr std::size_t kBuffer = 256 << 10;
  std::unique_ptr<std::byte[]> buf(new std::byte[kBuffer]);
  while (!size || done < *size) {
    std::size_t want =
        size ? static_cast<std::size_t>(std::min<std::uint64_t>(*size - done, kBuffer)) : kBuffer;
    ssize_t n = ::read(in, buf.get(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("reading {}", in_name), errno);
    if (n == 0) {
      if (size) return truncated(done);
      return done;
    }
    DE_TRY(write_all(out, std::span<const std::byte>(buf.get(), static_cast<std::size_t>(n)),
                     out_name));
    done += static_cast<std::uint64_t>(n);
  }
  return done;
}

Result<Mapping> Mapping::open(const fs::path& path, Options options) {
  auto fd = DE_TRY(open_file(path, OpenMode::Read));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno("reading " + path.string(), errno);
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0 && options.padding == 0) return Mapping(nullptr, 0, 0);
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // With padding, the file is mapped over the start of an anonymous mapping that long: the tail
  // of the file's last page, and any page after it, read as zeros.
  const std::size_t length = (size + options.padding + page - 1) / page * page;
  void* addr = MAP_FAILED;
  if (options.padding == 0) {
    addr = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  } else {
    addr = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr != MAP_FAILED && size > 0 &&
        ::mmap(addr, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd.get(), 0) == MAP_FAILED) {
      int err = errno;
      ::munmap(addr, length);
      return fail_errno("mapping " + path.string(), err);
    }
  }
  if (addr == MAP_FAILED) return fail_errno("mapping " + path.string(), errno);
  return Mapping(addr, size, length);  // the mapping outlives the descriptor
}

Mapping::Mapping(void* addr, std::size_t size, std::size_t length)
    : addr_(addr), size_(size), length_(length) {}

Mapping::Mapping(Mapping&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      length_(std::exchange(other.length_, 0)),
      populate_(std::move(other.populate_)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    unmap();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    length_ = std::exchange(other.length_, 0);
    populate_ = std::move(other.populate_);
  }
  return *this;
}

Mapping::~Mapping() { unmap(); }

void Mapping::unmap() noexcept {
  populate_.reset();  // joins: its range must stay mapped while it runs
  if (addr_) ::munmap(addr_, length_);
  addr_ = nullptr;
  size_ = length_ = 0;
}

void Mapping::populate_in_background() {
  if (populate_ || size_ == 0) return;
  populate_ = std::make_unique<Thread>(
      [addr = addr_, size = size_] { ::madvise(addr, size, MADV_POPULATE_READ); });
}

}  // namespace de
