#include "docker_envs/conda/package.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_set>
#include <vector>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "ffi/archive.hpp"

namespace de::conda {

namespace fs = std::filesystem;

Result<PackageHashes> hash_package_file(const fs::path& path, bool with_md5) {
  auto reader = DE_TRY(FileReader::open(path));
  Sha256 sha;
  Md5 md5;
  std::vector<std::byte> buf(1 << 20);
  PackageHashes out;
  for (;;) {
    std::size_t n = DE_TRY(reader->read(buf));
    if (n == 0) break;
    auto chunk = std::span<const std::byte>(buf.data(), n);
    sha.update(chunk);
    if (with_md5) md5.update(chunk);
    out.size += n;
  }
  out.sha256 = sha.finish();
  if (with_md5) out.md5 = DE_TRY(Md5Hash::from_hex(md5.finish_hex()));
  return out;
}

Status check_hashes(const PackageHashes& actual, const ExpectedHashes& expected,
                    std::string_view what) {
  if (expected.size && *expected.size != actual.size)
    return fail(Code::Corruption, "{}: size is {} bytes, expected {}", what, actual.size,
                *expected.size);
  if (expected.sha256 && *expected.sha256 != actual.sha256)
    return fail(Code::Corruption, "{}: sha256 is {}, expected {}", what, actual.sha256.hex(),
                expected.sha256->hex());
  if (expected.md5 && *expected.md5 != actual.md5)
    return fail(Code::Corruption, "{}: md5 is {}, expected {}", what, actual.md5.hex(),
                expected.md5->hex());
  return {};
}

Result<std::string> normalize_package_path(std::string_view path) {
  if (path.find('\0') != std::string_view::npos)
    return fail(Code::InvalidArgument, "path '{}' contains a NUL byte", path);
  if (path.starts_with("/")) return fail(Code::InvalidArgument, "absolute path '{}' refused", path);
  std::string out;
  std::string_view rest = path;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return fail(Code::InvalidArgument, "path '{}' with '..' refused", path);
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) return fail(Code::InvalidArgument, "empty path '{}'", path);
  return out;
}

namespace {

// Writes archive entries below `root`, refusing anything that would land outside it. Thread-
// compatible; one per extraction.
class SafeExtractor {
 public:
  SafeExtractor(fs::path root, std::string what, std::uint64_t cap, std::uint64_t slack)
      : root_(std::move(root)), what_(std::move(what)), cap_(cap), slack_(slack) {}

  Status extract_all(ffi::ArchiveReader& archive) {
    for (;;) {
      auto entry = DE_TRY(archive.next());
      if (!entry) return {};
      DE_TRY_CTX(write(archive, *entry), fmt::format("entry '{}'", entry->path));
    }
  }

 private:
  // Fails when `rel` lies below a symlink this extraction created.
  Status check_no_symlink_parent(const std::string& rel) const {
    for (auto slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      if (symlinks_.contains(rel.substr(0, slash)))
        return fail(Code::InvalidArgument, "refused: '{}' lies below the symlink '{}'", rel,
                    rel.substr(0, slash));
    }
    return {};
  }

  Status make_parents(const std::string& rel) {
    auto slash = rel.rfind('/');
    if (slash == std::string::npos) return {};
    std::string parent = rel.substr(0, slash);
    if (made_.contains(parent)) return {};  // one mkdir per directory, not one per file
    DE_TRY(make_dirs_below(root_, parent));
    made_.insert(std::move(parent));
    return {};
  }

  // Removes a previous entry at the same path (a later duplicate wins, as tar does).
  Status clear(const fs::path& p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return {};
    if (S_ISDIR(st.st_mode))
      return fail(Code::InvalidArgument, "'{}' is already a directory", p.string());
    if (::unlink(p.c_str()) != 0) return fail_errno("removing " + p.string(), errno);
    return {};
  }

  Status write(ffi::ArchiveReader& archive, const ffi::ArchiveEntry& entry) {
    if (entry.type == ffi::ArchiveEntryType::Directory) {
      auto norm = normalize_package_path(entry.path);
      if (!norm) {
        if (norm.error().message().starts_with("empty path")) return {};  // "./"
        return std::unexpected(norm.error());
      }
      DE_TRY(check_no_symlink_parent(*norm + "/"));
      fs::path dir = root_ / *norm;
      DE_TRY(make_dirs_below(root_, *norm));
      struct stat st;
      if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(Code::InvalidArgument, "refused: directory '{}' is not a directory", *norm);
      ::chmod(dir.c_str(), (entry.mode & 0777) | 0700);
      return {};
    }
    std::string rel = DE_TRY(normalize_package_path(entry.path));
    DE_TRY(check_no_symlink_parent(rel));
    DE_TRY(make_parents(rel));
    fs::path dest = root_ / rel;
    DE_TRY(clear(dest));
    switch (entry.type) {
      case ffi::ArchiveEntryType::Symlink:
        if (entry.link_target.empty()) {
          // Seen in real packages (defaults' osx-64 zlib .conda): nothing sensible to create.
          log::warn("{}: symlink '{}' has an empty target; skipped", archive.name(), rel);
          return {};
        }
        if (::symlink(entry.link_target.c_str(), dest.c_str()) != 0)
          return fail_errno("creating symlink " + dest.string(), errno);
        symlinks_.insert(rel);
        return {};
      case ffi::ArchiveEntryType::Hardlink: {
        std::string target = DE_TRY(normalize_package_path(entry.link_target));
        DE_TRY(check_no_symlink_parent(target));
        fs::path src = root_ / target;
        struct stat st;
        if (::lstat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
          return fail(Code::InvalidArgument,
                      "hardlink '{}' points at '{}', which is not a file of this package", rel,
                      entry.link_target);
        if (::link(src.c_str(), dest.c_str()) != 0)
          return fail_errno("linking " + dest.string(), errno);
        return {};
      }
      case ffi::ArchiveEntryType::File:
        DE_TRY(write_file(archive, dest, entry.mode, !rel.starts_with("info/")));
        if (rel == "info/paths.json") declared_ = declared_payload(dest);
        return {};
      case ffi::ArchiveEntryType::Other:
      case ffi::ArchiveEntryType::Directory:
        break;
    }
    return fail(Code::Unsupported, "'{}' is a device, fifo or socket", rel);
  }

  // The sum of paths.json's size_in_bytes over its files; nullopt when a file has none.
  static std::optional<std::uint64_t> declared_payload(const fs::path& paths_json) {
    auto text = read_file(paths_json);
    if (!text) return std::nullopt;
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("paths") ||
        !doc["paths"].is_array())
      return std::nullopt;
    std::uint64_t sum = 0;
    for (const auto& p : doc["paths"]) {
      if (!p.is_object()) return std::nullopt;
      auto type = p.find("path_type");
      if (type != p.end() && type->is_string() && *type != "hardlink") continue;
      auto size = p.find("size_in_bytes");
      if (size == p.end() || !size->is_number_unsigned()) return std::nullopt;
      sum += std::min<std::uint64_t>(size->get<std::uint64_t>(), std::uint64_t{1} << 50);
    }
    return sum;
  }

  // Counts `n` more bytes written; fails past the package's bounds (ExtractLimits).
  Status count(std::size_t n, bool payload) {
    written_ += n;
    if (payload) payload_written_ += n;
    if (written_ > cap_)
      return fail(Code::Corruption,
                  "{} expands to more than {} bytes; refused as a decompression bomb "
                  "(ExtractLimits)",
                  what_, cap_);
    if (declared_ && payload_written_ > *declared_ + slack_)
      return fail(Code::Corruption,
                  "{} holds more than the {} bytes its info/paths.json declares; refused", what_,
                  *declared_);
    return {};
  }

  Status write_file(ffi::ArchiveReader& archive, const fs::path& dest, std::uint32_t mode,
                    bool payload) {
    auto fd = DE_TRY(open_file(dest, OpenMode::CreateNew, 0600));
    buffer_.resize(256 << 10);
    for (;;) {
      std::size_t n = DE_TRY(archive.read(buffer_));
      if (n == 0) break;
      DE_TRY(count(n, payload));
      DE_TRY(write_all(fd.get(), std::span<const std::byte>(buffer_.data(), n), dest.native()));
    }
    // Keep permission bits but never set-id bits from a package.
    if (::fchmod(fd.get(), mode & 0777) != 0) return fail_errno("chmod " + dest.string(), errno);
    return {};
  }

  fs::path root_;
  std::string what_;
  std::uint64_t cap_;
  std::uint64_t slack_;
  std::uint64_t written_ = 0;
  std::uint64_t payload_written_ = 0;      // outside info/
  std::optional<std::uint64_t> declared_;  // from info/paths.json
  std::unordered_set<std::string> symlinks_;
  std::unordered_set<std::string> made_;  // directories known to exist (entries never replace one)
  std::vector<std::byte> buffer_;
};

}  // namespace

Status extract_package(const fs::path& archive, const fs::path& dest, const ExtractLimits& limits) {
  std::string what = "extracting " + archive.filename().string();
  auto format = DE_TRY_CTX(package_format_of(archive.filename().string()), what);
  std::error_code ec;
  std::uint64_t packed = fs::file_size(archive, ec);
  if (ec) return fail(Code::Io, "{}: {}", what, ec.message());
  std::uint64_t cap = packed > limits.absolute / std::max<std::uint64_t>(limits.ratio, 1)
                          ? limits.absolute
                          : std::max(packed * limits.ratio, limits.floor);
  cap = std::min(cap, limits.absolute);
  DE_TRY_CTX(make_empty_dir(dest), what);
  SafeExtractor extractor(dest, "package " + archive.filename().string(), cap, limits.slack);
  if (format == PackageFormat::TarBz2) {
    auto reader = DE_TRY_CTX(ffi::ArchiveReader::open_file(archive, ffi::ArchiveKind::Tar), what);
    DE_TRY_CTX(extractor.extract_all(*reader), what);
    return {};
  }
  auto zip = DE_TRY_CTX(ffi::ArchiveReader::open_file(archive, ffi::ArchiveKind::Zip), what);
  bool saw_info = false;
  for (;;) {
    auto member = DE_TRY_CTX(zip->next(), what);
    if (!member) break;
    const std::string& name = member->path;
    bool is_info = name.starts_with("info-") && name.ends_with(".tar.zst");
    bool is_pkg = name.starts_with("pkg-") && name.ends_with(".tar.zst");
    if (!is_info && !is_pkg) continue;  // metadata.json and anything newer we do not know
    if (member->type != ffi::ArchiveEntryType::File)
      return fail(Code::Corruption, "{}: member '{}' is not a file", what, name);
    saw_info = saw_info || is_info;
    auto inner =
        DE_TRY_CTX(ffi::ArchiveReader::open_stream(*zip, ffi::ArchiveKind::Tar, name), what);
    DE_TRY_CTX(extractor.extract_all(*inner), what);
  }
  if (!saw_info)
    return fail(Code::Corruption, "{}: no info-*.tar.zst member (not a .conda package?)", what);
  return {};
}

}  // namespace de::conda
