#include "docker_envs/conda/package_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/cleanup.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"
#include "docker_envs/base/parallel.hpp"

namespace de::conda {

namespace fs = std::filesystem;

namespace {

// An exclusive flock() held for the object's lifetime. The lock file itself stays.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path) {
    auto fd = DE_TRY(open_file(path, OpenMode::ReadWriteCreate, 0644));
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      return fail_errno("locking " + path.string(), errno);
    }
    return FileLock(std::move(fd));
  }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing releases the lock
};

// Passes bytes on to `next` while computing the hashes a package is checked against.
class HashingWriter final : public Writer {
 public:
  explicit HashingWriter(Writer& next) : next_(next) {}
  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    sha256_.update(data);
    md5_.update(data);
    size_ += data.size();
    return next_.write(data);
  }
  PackageHashes finish() {
    PackageHashes h;
    h.sha256 = sha256_.finish();
    h.md5 = Md5Hash::from_hex(md5_.finish_hex()).value();
    h.size = size_;
    return h;
  }

 private:
  Writer& next_;
  Sha256 sha256_;
  Md5 md5_;
  std::uint64_t size_ = 0;
};

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  return fmt::format("{}-{}", ::getpid(), counter.fetch_add(1));
}

Status make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Code::Io, "creating {}: {}", dir.string(), ec.message());
  return {};
}

}  // namespace

namespace {

// The cache entry (directory name) of a package file: its format's stem and the sha256.
std::string entry_key(std::string_view stem, const Digest& sha256) {
  return fmt::format("{}-{}", stem, sha256.hex().substr(0, 16));
}

// The complete entry for a package whose sha256 the caller already knows, without reading the
// package file: entries only appear (by rename) after their file was verified against that hash.
// With `record`, a use of the entry is recorded first (what `cache prune` orders by and respects).
std::optional<fs::path> verified_entry(const fs::path& root, const CacheFormat& format,
                                       std::string_view file_name, const ExpectedHashes& expected,
                                       bool record = true) {
  if (!expected.sha256) return std::nullopt;
  auto stem = format.stem(file_name);
  if (!stem) return std::nullopt;
  std::string key = entry_key(*stem, *expected.sha256);
  fs::path entry = root / key;
  std::error_code ec;
  if (!fs::is_directory(entry, ec)) return std::nullopt;
  if (!record) return entry;
  auto use = EntryUse::begin(root, key);
  if (fs::is_directory(entry, ec)) return entry;  // still there now that the use is recorded
  return std::nullopt;
}

}  // namespace

CacheFormat conda_cache_format() {
  return {.stem = [](std::string_view file_name) -> Result<std::string> {
            DE_TRY(package_format_of(file_name));
            return std::string(strip_package_extension(file_name));
          },
          .extract = [](const fs::path& archive, const fs::path& dest) {
            return extract_package(archive, dest);
          }};
}

Result<fs::path> PackageCache::extract(const fs::path& archive, const ExpectedHashes& expected) {
  std::string file_name = archive.filename().string();
  if (auto entry = verified_entry(root_, format_, file_name, expected)) return *entry;
  std::string what = "package " + file_name;
  std::string stem = DE_TRY_CTX(format_.stem(file_name), what);
  // md5 only when it is to be checked: the key is the sha256, and md5 costs as much again.
  auto hashes = DE_TRY_CTX(hash_package_file(archive, expected.md5.has_value()), what);
  DE_TRY(check_hashes(hashes, expected, archive.string()));
  DE_TRY(make_dirs(root_));

  std::string key = entry_key(stem, hashes.sha256);
  fs::path entry = root_ / key;
  auto use = EntryUse::begin(root_, key);  // held while the entry is found or made
  std::error_code ec;
  if (fs::is_directory(entry, ec)) return entry;  // complete entries only ever appear by rename

  auto lock = DE_TRY(FileLock::acquire(root_ / (key + ".lock")));
  if (fs::is_directory(entry, ec)) return entry;  // another process finished while we waited
  // Holding the lock, any temp dir for this key is a leftover from a crash.
  std::string tmp_prefix = ".tmp-" + key + "-";
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    if (e.path().filename().string().starts_with(tmp_prefix)) fs::remove_all(e.path(), ec);
  }
  fs::path tmp = root_ / (tmp_prefix + unique_suffix());
  // Made and registered in one step, so a signal that ends the process before the rename finds it
  // (cleanup.hpp); the extraction creates nothing outside it, so it cannot come back after that.
  auto guard = DE_TRY(CleanupGuard::create(CleanupKind::Tree, [&]() -> Result<fs::path> {
    if (::mkdir(tmp.c_str(), 0755) != 0) return fail_errno("creating " + tmp.string(), errno);
    return tmp;
  }));
  auto status = format_.extract(archive, tmp);
  if (!status) {
    fs::remove_all(tmp, ec);
    return std::unexpected(status.error());
  }
  if (::rename(tmp.c_str(), entry.c_str()) != 0) {
    int err = errno;
    fs::remove_all(tmp, ec);
    return fail_errno("renaming " + tmp.string() + " to " + entry.string(), err);
  }
  return entry;
}

Result<fs::path> PackageCache::fetch(const std::string& url, const ExpectedHashes& expected,
                                     Fetcher& fetcher) {
  return fetch_reporting(url, expected, fetcher, {}, nullptr);
}

namespace {

// The package file a URL names: its last segment, without query or fragment.
std::string url_file_name(std::string_view url) {
  auto slash = url.rfind('/');
  std::string name(slash == std::string_view::npos ? url : url.substr(slash + 1));
  if (auto q = name.find_first_of("?#"); q != std::string::npos) name.resize(q);
  return name;
}

// Passes bytes through, reporting the running total every few MiB.
class CountingWriter final : public Writer {
 public:
  CountingWriter(Writer& next, std::function<void(std::uint64_t)> report)
      : next_(next), report_(std::move(report)) {}
  Status write(std::span<const std::byte> data) override {
    DE_TRY(next_.write(data));
    bytes_ += data.size();
    if (report_ && bytes_ >= next_report_) {
      report_(bytes_);
      next_report_ = bytes_ + kEvery;
    }
    return {};
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  static constexpr std::uint64_t kEvery = 64 << 10;
  Writer& next_;
  std::function<void(std::uint64_t)> report_;
  std::uint64_t bytes_ = 0;
  std::uint64_t next_report_ = kEvery;
};

}  // namespace

Result<fs::path> PackageCache::fetch_reporting(const std::string& url,
                                               const ExpectedHashes& expected, Fetcher& fetcher,
                                               const Report& report, const Cancellation* cancel) {
  using State = FetchProgress::State;
  auto say = [&](State state, std::uint64_t bytes) {
    if (report) report(state, bytes);
  };
  if (auto local = fetcher.local_path(url)) {
    auto entry = DE_TRY(extract(*local, expected));
    say(State::Local, 0);
    return entry;
  }
  std::string file_name = url_file_name(url);
  std::string what = "downloading " + redact_url(url);
  DE_TRY_CTX(format_.stem(file_name), what);
  if (auto entry = verified_entry(root_, format_, file_name, expected)) {  // no download
    say(State::Cached, 0);
    return *entry;
  }
  fs::path downloads = root_ / "downloads";
  DE_TRY(make_dirs(downloads));
  fs::path dest = downloads / file_name;
  auto use = EntryUse::begin(root_, "downloads/" + file_name);
  auto lock = DE_TRY(FileLock::acquire(downloads / (file_name + ".lock")));
  std::error_code ec;
  bool have = false;
  if (fs::exists(dest, ec)) {
    auto hashes = hash_package_file(dest);
    have =
        hashes && (expected.sha256 || expected.md5) && check_hashes(*hashes, expected, file_name);
  }
  std::optional<std::uint64_t> downloaded;
  if (!have) {
    // Verified before it is renamed into place: a truncated or corrupt download never lands.
    say(State::Started, 0);
    auto out = DE_TRY_CTX(AtomicFileWriter::create(dest), what);
    HashingWriter tee(*out);
    CountingWriter counted(tee, [&](std::uint64_t n) { say(State::Downloading, n); });
    DE_TRY_CTX(fetcher.fetch_to(url, counted, {.cancel = cancel}), what);
    DE_TRY_CTX(check_hashes(tee.finish(), expected, redact_url(url)), what);
    DE_TRY_CTX(out->commit(), what);
    downloaded = counted.bytes();
  }
  auto entry = DE_TRY(extract(dest, expected));
  if (downloaded)
    say(State::Downloaded, *downloaded);
  else
    say(State::Cached, 0);
  return entry;
}

void PackageCache::report(progress::Reporter* reporter, std::string_view stage,
                          const FetchProgress& p) {
  if (!reporter) return;
  using progress::Kind;
  using State = FetchProgress::State;
  progress::Event e{.stage = stage, .task = p.file_name, .bytes = p.bytes, .total = p.size.value_or(0)};
  switch (p.state) {
    case State::Started: e.kind = Kind::TaskStart; break;
    case State::Downloading: e.kind = Kind::TaskProgress; break;
    case State::Downloaded: e.kind = Kind::TaskEnd, e.detail = "downloaded"; break;
    case State::Cached: e.kind = Kind::TaskEnd, e.detail = "cached"; break;
    case State::Local: e.kind = Kind::TaskEnd, e.detail = "local"; break;
  }
  reporter->report(e);
}

std::optional<fs::path> PackageCache::local_source(const std::string& url,
                                                   const ExpectedHashes& expected,
                                                   Fetcher& fetcher) const {
  std::error_code ec;
  if (auto local = fetcher.local_path(url)) {
    if (fs::is_regular_file(*local, ec)) return local;
    return std::nullopt;
  }
  std::string file_name = url_file_name(url);
  if (auto entry = verified_entry(root_, format_, file_name, expected, /*record=*/false))
    return entry;
  fs::path download = root_ / "downloads" / file_name;
  if (!file_name.empty() && fs::is_regular_file(download, ec)) return download;
  return std::nullopt;
}

Result<std::vector<fs::path>> PackageCache::fetch_all(std::span<const FetchRequest> requests,
                                                      Fetcher& fetcher, unsigned parallelism,
                                                      const FetchProgressFn& progress) {
  std::vector<fs::path> out(requests.size());
  std::mutex progress_mutex;
  // The first failure stops the downloads in flight too (their retries included).
  Cancellation cancel;
  Status fetched = parallel_for_cancelling(
      requests.size(), std::max(1u, parallelism), cancel, [&](std::size_t i, unsigned) -> Status {
        const auto& request = requests[i];
        Report report;
        if (progress) {
          report = [&, i, name = url_file_name(request.url)](FetchProgress::State state,
                                                             std::uint64_t bytes) {
            std::lock_guard lock(progress_mutex);
            progress({.state = state,
                      .index = i,
                      .file_name = name,
                      .bytes = bytes,
                      .size = request.expected.size});
          };
        }
        // Each call uses its own PackageCache value (the object is only thread-compatible).
        PackageCache cache(root_, format_);
        out[i] =
            DE_TRY(cache.fetch_reporting(request.url, request.expected, fetcher, report, &cancel));
        return {};
      });
  DE_TRY(fetched);
  return out;
}

}  // namespace de::conda
