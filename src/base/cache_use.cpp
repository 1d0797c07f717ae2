#include "docker_envs/base/cache_use.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "docker_envs/base/log.hpp"

namespace de {
namespace fs = std::filesystem;

fs::path use_stamp_path(const fs::path& cache_dir, std::string_view entry) {
  return cache_dir / ".used" / fs::path(entry);
}

namespace {

int open_stamp(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  }
  return fd;
}

bool lock(int fd, int how) {
  while (::flock(fd, how) != 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace

EntryUse EntryUse::begin(const fs::path& cache_dir, std::string_view entry) noexcept {
  fs::path path = use_stamp_path(cache_dir, entry);
  UniqueFd fd(open_stamp(path));
  if (!fd || !lock(fd.get(), LOCK_SH) || ::futimens(fd.get(), nullptr) != 0) {
    log::debug("not recording the use of {}: {}", path.string(), std::strerror(errno));
    return EntryUse(UniqueFd());
  }
  return EntryUse(std::move(fd));
}

fs::path lease_dir(const fs::path& root) { return root / ".leases"; }

Result<CacheLease> CacheLease::acquire(const fs::path& root) {
  static std::atomic<unsigned> counter{0};
  fs::path dir = lease_dir(root);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Code::Io, "creating {}: {}", dir.string(), ec.message());
  fs::path path = dir / fmt::format("{}-{}", ::getpid(), counter.fetch_add(1));
  auto fd = DE_TRY(open_file(path, OpenMode::ReadWriteCreate, 0644));
  if (!lock(fd.get(), LOCK_SH)) return fail_errno("locking " + path.string(), errno);
  // The lease starts now, whatever an earlier process of the same pid left.
  if (::futimens(fd.get(), nullptr) != 0) return fail_errno("stamping " + path.string(), errno);
  return CacheLease(std::move(fd), std::move(path));
}

namespace {

std::chrono::system_clock::time_point to_time_point(const struct timespec& t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

std::chrono::system_clock::time_point fd_mtime(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::chrono::system_clock::now();  // err towards "recent"
  return to_time_point(st.st_mtim);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> modified_time(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return to_time_point(st.st_mtim);
}

std::chrono::system_clock::time_point CacheLease::started() const { return fd_mtime(fd_.get()); }

LeaseScan scan_leases(const fs::path& root, const fs::path& own) {
  LeaseScan scan;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lease_dir(root), ec)) {
    if (e.path() == own) continue;
    UniqueFd fd(::open(e.path().c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      // Nobody holds it: its build is gone.
      std::error_code rm;
      if (fs::remove(e.path(), rm)) ++scan.stale;
      continue;
    }
    auto started = fd_mtime(fd.get());
    if (!scan.oldest_live || started < *scan.oldest_live) scan.oldest_live = started;
  }
  return scan;
}

Result<std::optional<EntryRemoval>> EntryRemoval::try_begin(const fs::path& cache_dir,
                                                            std::string_view entry) {
  static std::atomic<unsigned> counter{0};
  fs::path path = use_stamp_path(cache_dir, entry);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ENOENT) {
    // Made under another name, locked and dated, then linked into place: a use that comes first
    // makes its own stamp (link fails, EEXIST) and one that comes after waits for the lock.
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fs::path tmp = path.parent_path() / fmt::format(".new-{}-{}", ::getpid(), counter.fetch_add(1));
    UniqueFd made(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!made) return fail_errno("creating " + tmp.string(), errno);
    const struct timespec epoch[2] = {{0, 0}, {0, 0}};
    bool ok = lock(made.get(), LOCK_EX) && ::futimens(made.get(), epoch) == 0;
    int err = errno;
    bool linked = ok && ::link(tmp.c_str(), path.c_str()) == 0;
    if (ok && !linked) err = errno;
    ::unlink(tmp.c_str());
    if (linked) return std::optional<EntryRemoval>(EntryRemoval(std::move(made), path));
    if (err != EEXIST) return fail_errno("creating " + path.string(), err);
    fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  }
  if (!fd) return fail_errno("opening " + path.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK || errno == EINTR) return std::optional<EntryRemoval>();
    return fail_errno("locking " + path.string(), errno);
  }
  return std::optional<EntryRemoval>(EntryRemoval(std::move(fd), path));
}

std::chrono::system_clock::time_point EntryRemoval::last_use() const { return fd_mtime(fd_.get()); }

void EntryRemoval::finish() {
  ::unlink(path_.c_str());
  fd_.reset();
}

CacheLease& CacheLease::operator=(CacheLease&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
  }
  return *this;
}

CacheLease::~CacheLease() { release(); }

void CacheLease::release() noexcept {
  if (!fd_) return;
  std::error_code ec;
  fs::remove(path_, ec);
  fd_.reset();
}

}  // namespace de
