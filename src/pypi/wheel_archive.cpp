#include "docker_envs/pypi/wheel_archive.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"
#include "ffi/archive.hpp"
#include "pypi/record.hpp"
#include "pypi/wheel_archive_internal.hpp"

namespace de::pypi {

namespace fs = std::filesystem;

namespace detail {

Result<WheelFileName> parse_wheel_file_name(std::string_view file_name) {
  std::string_view stem = file_name;
  if (!stem.ends_with(".whl"))
    return fail(Code::InvalidArgument, "'{}' is not a wheel file name (*.whl)", file_name);
  stem.remove_suffix(4);
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto dash = stem.find('-', start);
    parts.push_back(stem.substr(start, dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if ((parts.size() != 5 && parts.size() != 6) ||
      std::ranges::any_of(parts, [](std::string_view p) { return p.empty(); }))
    return fail(Code::InvalidArgument,
                "'{}' is not a wheel file name "
                "(NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)",
                file_name);
  return WheelFileName{std::string(parts[0]), std::string(parts[1])};
}

std::string canonical_name(std::string_view name) {
  std::string out;
  bool separator = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      separator = true;
      continue;
    }
    if (separator && !out.empty()) out += '-';
    separator = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

Headers parse_headers(std::string_view text) {
  Headers out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the body (METADATA's description) follows
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      out.back().second += '\n';
      out.back().second += line;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

std::optional<std::string> header(const Headers& headers, std::string_view key) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  };
  std::string wanted = lower(key);
  for (const auto& [k, v] : headers) {
    if (lower(k) != wanted) continue;
    std::string_view value = v;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\n'))
      value.remove_suffix(1);
    return std::string(value);
  }
  return std::nullopt;
}

Result<WheelInfo> parse_wheel_info(std::string_view text, std::string_view what) {
  auto headers = parse_headers(text);
  auto version = header(headers, "Wheel-Version");
  if (!version) return fail(Code::Corruption, "{}: no Wheel-Version", what);
  WheelInfo info;
  auto dot = version->find('.');
  auto number = [](std::string_view s, int& out) {
    if (s.empty() || s.size() > 6 || !std::ranges::all_of(s, [](char c) {
          return c >= '0' && c <= '9';
        }))
      return false;
    out = std::stoi(std::string(s));
    return true;
  };
  if (dot == std::string::npos || !number(std::string_view(*version).substr(0, dot), info.major) ||
      !number(std::string_view(*version).substr(dot + 1), info.minor))
    return fail(Code::Corruption, "{}: Wheel-Version '{}' is not MAJOR.MINOR", what, *version);
  if (info.major != 1)
    return fail(Code::Unsupported, "{}: Wheel-Version {} is not supported (only 1.x)", what,
                *version);
  auto purelib = header(headers, "Root-Is-Purelib");
  if (!purelib) return fail(Code::Corruption, "{}: no Root-Is-Purelib", what);
  std::string value = *purelib;
  for (char& c : value)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (value != "true" && value != "false")
    return fail(Code::Corruption, "{}: Root-Is-Purelib '{}' is neither true nor false", what,
                *purelib);
  info.root_is_purelib = value == "true";
  return info;
}

Result<std::string> find_dist_info(const std::vector<std::string>& top_level,
                                   std::string_view distribution, std::string_view what) {
  std::vector<std::string> found;
  for (const auto& d : top_level)
    if (d.ends_with(".dist-info")) found.push_back(d);
  if (found.empty()) return fail(Code::Corruption, "{}: no .dist-info directory", what);
  if (found.size() > 1)
    return fail(Code::Corruption, "{}: several .dist-info directories ({}, {})", what, found[0],
                found[1]);
  const std::string& dir = found.front();
  std::string_view stem = std::string_view(dir).substr(0, dir.size() - 10);
  auto dash = stem.rfind('-');
  if (dash == std::string_view::npos ||
      canonical_name(stem.substr(0, dash)) != canonical_name(distribution))
    return fail(Code::Corruption, "{}: the .dist-info directory '{}' is not named after '{}'",
                what, dir, distribution);
  return dir;
}

Result<std::vector<std::string>> top_level_directories(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) out.push_back(it->path().filename().string());
  if (ec) return fail(Code::Io, "listing {}: {}", dir.string(), ec.message());
  std::ranges::sort(out);
  return out;
}

}  // namespace detail

namespace {

struct ExtractedFile {
  Digest sha256;
  std::uint64_t size = 0;
  bool verified = false;
};

std::string_view kind_of(ffi::ArchiveEntryType type) {
  switch (type) {
    case ffi::ArchiveEntryType::Symlink:
      return "a symlink";
    case ffi::ArchiveEntryType::Hardlink:
      return "a hardlink";
    default:
      return "a device, FIFO or socket";
  }
}

// Writes the members of one wheel below `root`: only regular files, each hashed as it is written.
// Nothing is created but directories and regular files below `root`, so no later write can be
// redirected by a link.
class WheelExtractor {
 public:
  WheelExtractor(fs::path root, std::string what, std::uint64_t cap)
      : root_(std::move(root)), what_(std::move(what)), cap_(cap) {}

  Status extract_all(ffi::ArchiveReader& zip) {
    for (;;) {
      auto member = DE_TRY(zip.next());
      if (!member) return {};
      DE_TRY_CTX(extract(zip, *member), fmt::format("member '{}'", member->path));
    }
  }

  std::map<std::string, ExtractedFile>& files() { return files_; }

 private:
  Status extract(ffi::ArchiveReader& zip, const ffi::ArchiveEntry& member) {
    if (member.type == ffi::ArchiveEntryType::Directory) {
      // Directories are implied by the files below them; an empty one installs nothing (pip).
      auto norm = conda::normalize_package_path(member.path);
      if (!norm && !norm.error().message().starts_with("empty path"))
        return std::unexpected(norm.error());
      return {};
    }
    std::string rel = DE_TRY(conda::normalize_package_path(member.path));
    if (member.type != ffi::ArchiveEntryType::File)
      return fail(Code::InvalidArgument, "refused: {} (a wheel holds only files)",
                  kind_of(member.type));
    if (files_.contains(rel)) return fail(Code::InvalidArgument, "refused: listed twice");
    if (auto slash = rel.rfind('/'); slash != std::string::npos)
      DE_TRY(make_dirs_below(root_, std::string_view(rel).substr(0, slash)));
    fs::path dest = root_ / rel;
    // 0755 when any executable bit is set, as pip does; never set-id bits.
    std::uint32_t mode = (member.mode & 0111) ? 0755 : 0644;
    auto fd = DE_TRY(open_file(dest, OpenMode::CreateNew, 0600));
    Sha256 sha;
    std::uint64_t size = 0;
    buffer_.resize(256 << 10);
    for (;;) {
      std::size_t n = DE_TRY(zip.read(buffer_));
      if (n == 0) break;
      size += n;
      written_ += n;
      if (written_ > cap_)
        return fail(Code::Corruption,
                    "{} expands to more than {} bytes; refused as a decompression bomb "
                    "(ExtractLimits)",
                    what_, cap_);
      auto chunk = std::span<const std::byte>(buffer_.data(), n);
      sha.update(chunk);
      DE_TRY(write_all(fd.get(), chunk, dest.native()));
    }
    if (::fchmod(fd.get(), mode) != 0) return fail_errno("chmod " + dest.string(), errno);
    files_.emplace(std::move(rel), ExtractedFile{sha.finish(), size});
    return {};
  }

  fs::path root_;
  std::string what_;
  std::uint64_t cap_;
  std::uint64_t written_ = 0;
  std::map<std::string, ExtractedFile> files_;
  std::vector<std::byte> buffer_;
};

bool unhashed_allowed(std::string_view rel, std::string_view dist_info) {
  if (!rel.starts_with(dist_info) || rel.size() <= dist_info.size() ||
      rel[dist_info.size()] != '/')
    return false;
  std::string_view name = rel.substr(dist_info.size() + 1);
  return name == "RECORD" || name == "RECORD.jws" || name == "RECORD.p7s";
}

// Checks every extracted file against RECORD: listed, with a matching sha256 and size.
Status verify_record(std::map<std::string, ExtractedFile>& files, const fs::path& root,
                     const std::string& dist_info) {
  std::string record_path = dist_info + "/RECORD";
  if (!files.contains(record_path)) return fail(Code::Corruption, "no {}", record_path);
  auto text = DE_TRY(read_file(root / record_path, std::size_t{64} << 20));
  auto rows = DE_TRY(detail::parse_record(text, record_path));
  for (const auto& row : rows) {
    auto where = [&] { return fmt::format("{}:{}", record_path, row.line); };
    std::string rel = DE_TRY_CTX(conda::normalize_package_path(row.path),
                                 fmt::format("{}: refused", where()));
    auto it = files.find(rel);
    if (it == files.end()) continue;  // listed but not in the wheel: nothing is installed
    if (row.hash.empty()) {
      if (unhashed_allowed(rel, dist_info)) continue;
      return fail(Code::Corruption, "{}: member '{}' has no hash", where(), row.path);
    }
    auto expected = DE_TRY_CTX(detail::parse_record_hash(row.hash),
                               fmt::format("{}: member '{}'", where(), row.path));
    if (expected != it->second.sha256)
      return fail(Code::Corruption, "member '{}': sha256 is {}, RECORD ({}) says {}", row.path,
                  detail::record_hash(it->second.sha256), where(), row.hash);
    if (row.size && *row.size != it->second.size)
      return fail(Code::Corruption, "member '{}': size is {} bytes, RECORD ({}) says {}",
                  row.path, it->second.size, where(), *row.size);
    it->second.verified = true;
  }
  for (const auto& [rel, file] : files)
    if (!file.verified && !unhashed_allowed(rel, dist_info))
      return fail(Code::Corruption, "member '{}' is not listed in {} with a hash", rel,
                  record_path);
  return {};
}

}  // namespace

Status extract_wheel(const fs::path& wheel, const fs::path& dest,
                     const conda::ExtractLimits& limits) {
  std::string file_name = wheel.filename().string();
  std::string what = "wheel " + file_name;
  auto name = DE_TRY_CTX(detail::parse_wheel_file_name(file_name), what);
  std::error_code ec;
  std::uint64_t packed = fs::file_size(wheel, ec);
  if (ec) return fail(Code::Io, "{}: {}", what, ec.message());
  std::uint64_t ratio = std::max<std::uint64_t>(limits.ratio, 1);
  std::uint64_t cap = packed > limits.absolute / ratio ? limits.absolute
                                                       : std::max(packed * ratio, limits.floor);
  cap = std::min(cap, limits.absolute);
  auto zip = DE_TRY_CTX(ffi::ArchiveReader::open_file(wheel, ffi::ArchiveKind::ZipCentralDirectory),
                        what);
  DE_TRY_CTX(make_empty_dir(dest), what);
  WheelExtractor extractor(dest, what, cap);
  DE_TRY_CTX(extractor.extract_all(*zip), what);

  std::set<std::string> top;
  for (const auto& [rel, file] : extractor.files())
    if (auto slash = rel.find('/'); slash != std::string::npos) top.insert(rel.substr(0, slash));
  auto dist_info = DE_TRY(detail::find_dist_info({top.begin(), top.end()}, name.distribution, what));
  DE_TRY_CTX(verify_record(extractor.files(), dest, dist_info), what);
  for (const char* required : {"WHEEL", "METADATA"})
    if (!extractor.files().contains(dist_info + "/" + required))
      return fail(Code::Corruption, "{}: no {}/{}", what, dist_info, required);
  auto wheel_text = DE_TRY_CTX(read_file(dest / dist_info / "WHEEL", 1 << 20), what);
  DE_TRY_CTX(detail::parse_wheel_info(wheel_text, dist_info + "/WHEEL"), what);
  return {};
}

conda::CacheFormat wheel_cache_format() {
  return {.stem = [](std::string_view file_name) -> Result<std::string> {
            DE_TRY(detail::parse_wheel_file_name(file_name));
            return std::string(file_name.substr(0, file_name.size() - 4));
          },
          .extract = [](const fs::path& archive, const fs::path& dest) {
            return extract_wheel(archive, dest);
          }};
}

}  // namespace de::pypi
