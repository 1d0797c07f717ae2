#include "conda/package_paths.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "docker_envs/conda/package.hpp"

namespace de::conda::detail {

namespace fs = std::filesystem;

namespace {

constexpr int kDirFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// 1: openat2 works, 0: not tried yet, -1: missing (old kernel, or a seccomp filter refusing it).
std::atomic<int> openat2_state{0};

int openat2_beneath(int dirfd, const std::string& rel) {
  open_how how{};
  // Without O_NOFOLLOW: RESOLVE_NO_SYMLINKS then refuses a trailing link with ELOOP too (with it,
  // the kernel answers ENOTDIR, which would read as "missing").
  how.flags = kDirFlags & ~O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN || attempt == 8) return static_cast<int>(fd);
  }
}

// The first component of `rel` below `dirfd` that is a symlink (for error messages); "" if none.
std::string first_link(int dirfd, std::string_view rel) {
  for (auto slash = rel.find('/');; slash = rel.find('/', slash + 1)) {
    std::string prefix(rel.substr(0, slash));
    struct stat st;
    if (::fstatat(dirfd, prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    if (S_ISLNK(st.st_mode)) return prefix;
    if (slash == std::string_view::npos) return {};
  }
}

}  // namespace

int open_dir_beneath_by_component(int dirfd, std::string_view rel) {
  UniqueFd cur(::openat(dirfd, ".", kDirFlags));
  if (cur.get() < 0) return -1;
  while (!rel.empty()) {
    auto slash = rel.find('/');
    std::string part(rel.substr(0, slash));
    rel = slash == std::string_view::npos ? std::string_view() : rel.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      errno = EXDEV;
      return -1;
    }
    int next = ::openat(cur.get(), part.c_str(), kDirFlags);
    if (next < 0) {
      int err = errno;
      struct stat st;
      if (err == ENOTDIR && ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        err = ELOOP;
      errno = err;
      return -1;
    }
    cur = UniqueFd(next);
  }
  return cur.release();
}

int open_dir_beneath(int dirfd, std::string_view rel) {
  std::string path(rel.empty() ? "." : rel);
  if (openat2_state.load(std::memory_order_relaxed) >= 0) {
    int fd = openat2_beneath(dirfd, path);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
      openat2_state.store(1, std::memory_order_relaxed);
      return fd;
    }
    if (openat2_state.load(std::memory_order_relaxed) == 0)
      openat2_state.store(-1, std::memory_order_relaxed);
    else
      return fd;  // openat2 worked before: EPERM is a real answer
  }
  return open_dir_beneath_by_component(dirfd, path);
}

Result<PackageDir> PackageDir::open(const fs::path& dir, std::string what) {
  // The package cache itself may lie below a symlink (a user's cache directory): that is trusted.
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return fail_errno(what + ": opening " + dir.string(), errno);
  return PackageDir(dir, std::move(what), std::move(fd));
}

Result<std::optional<PackageDir::Parent>> PackageDir::open_parent(std::string_view rel) const {
  auto norm = DE_TRY_CTX(normalize_package_path(rel), what_);
  auto slash = norm.rfind('/');
  std::string parent = slash == std::string::npos ? std::string() : norm.substr(0, slash);
  UniqueFd fd(open_dir_beneath(fd_.get(), parent));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return std::optional<Parent>();
    if (err == ELOOP || err == EXDEV) {
      std::string link = first_link(fd_.get(), parent);
      return fail(Code::InvalidArgument,
                  "{}: '{}' lies below the symlink '{}' inside the package; refused (a listed "
                  "path must not go through a link)",
                  what_, norm, link.empty() ? parent : link);
    }
    return fail_errno(fmt::format("{}: resolving '{}'", what_, norm), err);
  }
  return std::optional<Parent>(
      Parent{std::move(fd), slash == std::string::npos ? norm : norm.substr(slash + 1)});
}

Result<std::optional<struct stat>> PackageDir::lstat(std::string_view rel) const {
  auto parent = DE_TRY(open_parent(rel));
  if (!parent) return std::optional<struct stat>();
  struct stat st;
  if (::fstatat(parent->fd.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<struct stat>();
    return fail_errno(fmt::format("{}: lstat '{}'", what_, rel), errno);
  }
  return std::optional<struct stat>(st);
}

Result<UniqueFd> PackageDir::open_file(std::string_view rel) const {
  auto parent = DE_TRY(open_parent(rel));
  if (!parent) return fail(Code::NotFound, "{}: '{}' is not in the package", what_, rel);
  // O_NONBLOCK: opening a FIFO must not wait for a writer; cleared below for a regular file.
  UniqueFd fd(::openat(parent->fd.get(), parent->name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP)
      return fail(Code::InvalidArgument, "{}: '{}' is a symlink, not a file; refused", what_, rel);
    if (errno == ENOENT) return fail(Code::NotFound, "{}: '{}' is not in the package", what_, rel);
    return fail_errno(fmt::format("{}: opening '{}'", what_, rel), errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno(fmt::format("{}: '{}'", what_, rel), errno);
  if (!S_ISREG(st.st_mode))
    return fail(Code::InvalidArgument, "{}: '{}' is not a regular file; refused", what_, rel);
  if (::fcntl(fd.get(), F_SETFL, O_RDONLY) != 0)
    return fail_errno(fmt::format("{}: '{}'", what_, rel), errno);
  return fd;
}

Result<std::optional<std::string>> PackageDir::read_file(std::string_view rel,
                                                         std::size_t max_size) const {
  auto st = DE_TRY(lstat(rel));
  if (!st) return std::optional<std::string>();
  auto fd = DE_TRY(open_file(rel));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("{}: reading '{}'", what_, rel), errno);
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_size)
      return fail(Code::InvalidArgument, "{}: '{}' is larger than {} bytes", what_, rel, max_size);
    out.append(buf, static_cast<std::size_t>(n));
  }
  return std::optional<std::string>(std::move(out));
}

Result<std::string> PackageDir::read_link(std::string_view rel) const {
  auto parent = DE_TRY(open_parent(rel));
  if (!parent) return fail(Code::NotFound, "{}: '{}' is not in the package", what_, rel);
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(parent->fd.get(), parent->name.c_str(), buf.data(), buf.size());
    if (n < 0) return fail_errno(fmt::format("{}: reading symlink '{}'", what_, rel), errno);
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

}  // namespace de::conda::detail
