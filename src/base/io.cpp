#include "docker_envs/base/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace de {
namespace fs = std::filesystem;

namespace {

constexpr size_t kCopyBuffer = 256 << 10;
constexpr size_t kWriteBuffer = 1 << 20;

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

constexpr std::string_view kTempMarker = ".tmp-";

}  // namespace

std::string temp_file_name(std::string_view name) {
  return fmt::format(".{}{}{}", name, kTempMarker, random_suffix());
}

bool is_temp_file_name(std::string_view name) {
  auto marker = name.rfind(kTempMarker);
  if (!name.starts_with('.') || marker == std::string_view::npos || marker == 0) return false;
  auto suffix = name.substr(marker + kTempMarker.size());
  return suffix.size() == 16 && suffix.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Status append_all(Reader& in, std::string& out, size_t limit) {
  std::byte buf[64 << 10];
  while (true) {
    size_t n = DE_TRY(in.read(buf));
    if (n == 0) return {};
    if (out.size() + n > limit) return fail(Code::Corruption, "document exceeds {} bytes", limit);
    out.append(reinterpret_cast<const char*>(buf), n);
  }
}

Result<std::string> read_all(Reader& in, size_t limit) {
  std::string out;
  DE_TRY(append_all(in, out, limit));
  return out;
}

Result<std::uint64_t> copy(Reader& in, Writer& out) {
  std::unique_ptr<std::byte[]> buf(new std::byte[kCopyBuffer]);
  std::uint64_t total = 0;
  while (true) {
    size_t n = DE_TRY(in.read(std::span(buf.get(), kCopyBuffer)));
    if (n == 0) return total;
    DE_TRY(out.write(std::span<const std::byte>(buf.get(), n)));
    total += n;
  }
}

Result<std::string> read_file(const fs::path& path, size_t limit) {
  auto reader = DE_TRY(FileReader::open(path));
  // Into a string of the file's size: a growing one copies a large file a few times over.
  std::error_code ec;
  std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > limit) size = 0;
  std::string out;
  out.reserve(static_cast<size_t>(size));
  DE_TRY_CTX(append_all(*reader, out, limit), "reading " + path.string());
  return out;
}

Status write_file_atomic(const fs::path& path, std::string_view content) {
  auto out = DE_TRY(AtomicFileWriter::create(path));
  DE_TRY(out->write(content));
  return out->commit();
}

Result<size_t> StringReader::read(std::span<std::byte> buf) {
  size_t n = std::min(buf.size(), data_.size() - pos_);
  std::memcpy(buf.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Status StringWriter::write(std::span<const std::byte> data) {
  data_.append(reinterpret_cast<const char*>(data.data()), data.size());
  return {};
}

FileReader::FileReader(UniqueFd fd, std::string name, std::uint64_t offset,
                       std::optional<std::uint64_t> length)
    : fd_(std::move(fd)), name_(std::move(name)), pos_(offset) {
  if (length) end_ = offset + *length;
}

FileReader::~FileReader() = default;

Result<std::unique_ptr<FileReader>> FileReader::open(const fs::path& path) {
  auto fd = DE_TRY(open_file(path, OpenMode::Read));
  return std::unique_ptr<FileReader>(new FileReader(std::move(fd), path.string(), 0, std::nullopt));
}

Result<std::unique_ptr<FileReader>> FileReader::open_range(const fs::path& path,
                                                           std::uint64_t offset,
                                                           std::uint64_t length) {
  auto fd = DE_TRY(open_file(path, OpenMode::Read));
  return std::unique_ptr<FileReader>(new FileReader(std::move(fd), path.string(), offset, length));
}

Result<size_t> FileReader::read(std::span<std::byte> buf) {
  size_t want = buf.size();
  if (end_) want = static_cast<size_t>(std::min<std::uint64_t>(want, *end_ - pos_));
  if (want == 0) return 0;
  while (true) {
    ssize_t n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(pos_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading " + name_, errno);
    if (n == 0 && end_)
      return fail(Code::Corruption, "{} is truncated: expected {} more bytes", name_, *end_ - pos_);
    pos_ += static_cast<std::uint64_t>(n);
    return static_cast<size_t>(n);
  }
}

AtomicFileWriter::AtomicFileWriter(UniqueFd fd, fs::path tmp, fs::path dest, CleanupGuard guard)
    : fd_(std::move(fd)), tmp_(std::move(tmp)), dest_(std::move(dest)), guard_(std::move(guard)) {
  buf_.reserve(kWriteBuffer);
}

AtomicFileWriter::~AtomicFileWriter() {
  fd_.reset();
  if (!committed_) ::unlink(tmp_.c_str());
  // guard_ ends its registration after the unlink: a signal in between finds nothing to remove.
}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::create(const fs::path& path) {
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path tmp = dir / temp_file_name(path.filename().string());
  UniqueFd fd;
  auto guard = DE_TRY(CleanupGuard::create(CleanupKind::File, [&]() -> Result<fs::path> {
    auto opened = open_file(tmp, OpenMode::CreateNew, 0644);
    if (!opened) return std::unexpected(std::move(opened).error());
    fd = std::move(*opened);
    return tmp;
  }));
  return std::unique_ptr<AtomicFileWriter>(
      new AtomicFileWriter(std::move(fd), tmp, path, std::move(guard)));
}

Status AtomicFileWriter::flush() {
  DE_TRY(write_direct(as_bytes(buf_)));
  buf_.clear();
  return {};
}

Status AtomicFileWriter::write(std::span<const std::byte> data) {
  size_ += data.size();
  if (buf_.size() + data.size() <= kWriteBuffer) {
    buf_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  DE_TRY(flush());
  if (data.size() < kWriteBuffer / 4) {
    buf_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  // Large writes go straight to the file: copying them through the buffer first costs a pass
  // over every byte of a layer.
  return write_direct(data);
}

Result<bool> Writer::append_file(const fs::path&, std::uint64_t) { return false; }

Result<bool> AtomicFileWriter::append_file(const fs::path& path, std::uint64_t size) {
  auto in = DE_TRY(open_file(path, OpenMode::Read));
  DE_TRY(flush());
  DE_TRY(copy_range(in.get(), fd_.get(), path.native(), tmp_.native(), size));
  size_ += size;
  return true;
}

Status AtomicFileWriter::write_direct(std::span<const std::byte> data) {
  return write_all(fd_.get(), data, tmp_.native());
}

Status AtomicFileWriter::pwrite(std::uint64_t offset, std::span<const std::byte> data) {
  DE_TRY(flush());
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n =
        ::pwrite(fd_.get(), data.data() + off, data.size() - off, static_cast<off_t>(offset + off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("writing " + tmp_.string(), errno);
    off += static_cast<size_t>(n);
  }
  return {};
}

Status AtomicFileWriter::set_permissions(fs::perms perms) {
  if (::fchmod(fd_.get(), static_cast<mode_t>(perms & fs::perms::mask)) != 0)
    return fail_errno("setting the permissions of " + tmp_.string(), errno);
  return {};
}

Status AtomicFileWriter::commit() { return commit_as(dest_); }

Status AtomicFileWriter::commit_as(const fs::path& dest) {
  dest_ = dest;
  DE_TRY(flush());
  DE_TRY(fd_.close(tmp_.native()));
  if (::rename(tmp_.c_str(), dest_.c_str()) != 0)
    return fail_errno("renaming into " + dest_.string(), errno);
  committed_ = true;
  guard_.release();  // after the rename: until then a signal removes the temp file
  return {};
}

Status HashingWriter::write(std::span<const std::byte> data) {
  hash_.update(data);
  bytes_ += data.size();
  return next_.write(data);
}

VerifyingReader::VerifyingReader(std::unique_ptr<Reader> inner, Digest expected,
                                 std::optional<std::uint64_t> expected_size, std::string what)
    : inner_(std::move(inner)),
      expected_(expected),
      expected_size_(expected_size),
      what_(std::move(what)) {}

Result<size_t> VerifyingReader::read(std::span<std::byte> buf) {
  size_t n = DE_TRY(inner_->read(buf));
  if (n > 0) {
    hash_.update(std::span<const std::byte>(buf.data(), n));
    bytes_ += n;
    if (expected_size_ && bytes_ > *expected_size_)
      return fail(Code::Corruption, "{} is larger than its declared size {}", what_,
                  *expected_size_);
    return n;
  }
  if (!verified_) {
    if (expected_size_ && bytes_ != *expected_size_)
      return fail(Code::Corruption, "{} has {} bytes, expected {}", what_, bytes_, *expected_size_);
    Digest actual = hash_.finish();
    if (actual != expected_)
      return fail(Code::Corruption, "{} does not match its digest: expected {}, got {}", what_,
                  expected_.to_string(), actual.to_string());
    verified_ = true;
  }
  return 0;
}

Result<NewDirectory> NewDirectory::create(const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return fail(Code::Io, "creating {}: {}", path.parent_path().string(), ec.message());
  auto guard = DE_TRY(CleanupGuard::create(CleanupKind::Tree, [&]() -> Result<fs::path> {
    if (::mkdir(path.c_str(), 0755) != 0) return fail_errno("creating " + path.string(), errno);
    return path;
  }));
  return NewDirectory(path, std::move(guard));
}

NewDirectory::NewDirectory(NewDirectory&& other) noexcept
    : path_(std::move(other.path_)), guard_(std::move(other.guard_)) {
  other.path_.clear();
}

NewDirectory& NewDirectory::operator=(NewDirectory&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    guard_ = std::move(other.guard_);
    other.path_.clear();
  }
  return *this;
}

NewDirectory::~NewDirectory() { remove(); }

void NewDirectory::remove() noexcept {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
    path_.clear();
  }
  guard_.release();  // after the removal: a signal in between removes what is left
}

void NewDirectory::keep() {
  path_.clear();
  guard_.release();
}

Status make_dirs_below(const fs::path& root, std::string_view rel) {
  fs::path dir = root;
  for (std::size_t start = 0; start < rel.size();) {
    std::size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    if (slash > start) {
      dir /= rel.substr(start, slash - start);
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return fail_errno("creating " + dir.string(), errno);
    }
    start = slash + 1;
  }
  return {};
}

Status make_empty_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return {};
  int err = errno;
  std::error_code ec;
  if (err == EEXIST && !fs::is_symlink(path, ec) && fs::is_directory(path, ec) &&
      fs::is_empty(path, ec) && !ec)
    return {};
  return fail_errno("creating " + path.string(), err);
}

Result<TempDir> TempDir::create(const fs::path& parent, std::string_view prefix) {
  fs::path base = parent;
  if (base.empty()) {
    const char* env = std::getenv("TMPDIR");
    base = env && *env ? fs::path(env) : fs::path("/tmp");
  }
  std::string templ = (base / (std::string(prefix) + "XXXXXX")).string();
  auto guard = DE_TRY(CleanupGuard::create(CleanupKind::Tree, [&]() -> Result<fs::path> {
    if (::mkdtemp(templ.data()) == nullptr)
      return fail_errno("creating a temporary directory in " + base.string(), errno);
    return fs::path(templ);
  }));
  return TempDir(NewDirectory(fs::path(templ), std::move(guard)));
}

}  // namespace de
