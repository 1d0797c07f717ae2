#include "oci/archive_file.hpp"

#include <algorithm>
#include <vector>

#include "docker_envs/oci/tar.hpp"
#include "ffi/compress.hpp"

namespace de::oci {
namespace fs = std::filesystem;

namespace {

// Joins a link target onto the directory of the member holding it, lexically.
Result<std::string> resolve_relative(std::string_view member, std::string_view target) {
  if (target.starts_with("/")) return normalize_path(target);
  auto slash = member.rfind('/');
  std::string joined =
      slash == std::string_view::npos ? std::string(target)
                                      : std::string(member.substr(0, slash + 1)) + std::string(target);
  return normalize_path(joined);
}

}  // namespace

Result<std::shared_ptr<const ArchiveFile>> ArchiveFile::open(const fs::path& path,
                                                             std::uint64_t max_staged) {
  auto archive = std::make_shared<ArchiveFile>();
  archive->source_ = path;
  archive->data_ = path;

  // Sniff compression: `docker save | gzip` output is common and `docker load` accepts it.
  {
    auto in = DE_TRY(FileReader::open(path));
    std::byte head[8];
    size_t n = DE_TRY(in->read(head));
    Compression c = ffi::detect_compression(std::span<const std::byte>(head, n));
    if (c != Compression::None) {
      archive->owned_ = DE_TRY(TempDir::create());
      archive->data_ = archive->owned_->path() / "archive.tar";
      auto raw = DE_TRY(FileReader::open(path));
      auto plain = DE_TRY(ffi::make_decompressor(c, std::move(raw)));
      auto out = DE_TRY(AtomicFileWriter::create(archive->data_));
      if (max_staged == 0) {
        std::error_code ec;
        std::uint64_t packed = fs::file_size(path, ec);
        max_staged = std::max<std::uint64_t>(ec ? 0 : packed * 100, std::uint64_t{1} << 30);
      }
      std::vector<std::byte> buf(1 << 20);
      for (std::uint64_t total = 0;;) {
        std::size_t got = DE_TRY_CTX(plain->read(buf), "decompressing " + path.string());
        if (got == 0) break;
        total += got;
        if (total > max_staged)
          return fail(Code::Corruption,
                      "{} decompresses to more than {} bytes; refused as a decompression bomb "
                      "(at most 100 x its size, at least 1 GiB)",
                      path.string(), max_staged);
        DE_TRY(out->write(std::span<const std::byte>(buf.data(), got)));
      }
      DE_TRY(out->commit());
    }
  }

  auto in = DE_TRY(FileReader::open(archive->data_));
  TarReader tar(*in);
  while (true) {
    auto entry = DE_TRY_CTX(tar.next(), "reading " + path.string());
    if (!entry) break;
    Member m;
    m.offset = tar.data_offset();
    m.size = entry->type == EntryType::File ? entry->size : 0;
    m.is_dir = entry->type == EntryType::Directory;
    if (entry->type == EntryType::Symlink) {
      m.link = DE_TRY_CTX(resolve_relative(entry->path, entry->link_target),
                          "symlink " + entry->path + " in " + path.string());
    } else if (entry->type == EntryType::Hardlink) {
      m.link = DE_TRY_CTX(normalize_path(entry->link_target),
                          "hardlink " + entry->path + " in " + path.string());
    }
    archive->members_[entry->path] = std::move(m);
  }
  return std::shared_ptr<const ArchiveFile>(std::move(archive));
}

bool ArchiveFile::contains(std::string_view name) const { return resolve(name).has_value(); }

Result<const ArchiveFile::Member*> ArchiveFile::resolve(std::string_view name) const {
  std::string current = DE_TRY(normalize_path(name));
  for (int hops = 0; hops < 16; ++hops) {
    auto it = members_.find(current);
    if (it == members_.end())
      return fail(Code::NotFound, "{} has no member '{}'", source_.string(), name);
    if (it->second.link.empty()) return &it->second;
    current = it->second.link;
  }
  return fail(Code::Corruption, "{}: too many levels of links resolving '{}'", source_.string(),
              name);
}

Result<std::unique_ptr<Reader>> ArchiveFile::open_member(std::string_view name) const {
  const Member* m = DE_TRY(resolve(name));
  if (m->is_dir) return fail(Code::Corruption, "{}: '{}' is a directory", source_.string(), name);
  return std::unique_ptr<Reader>(DE_TRY(FileReader::open_range(data_, m->offset, m->size)));
}

Result<std::uint64_t> ArchiveFile::member_size(std::string_view name) const {
  const Member* m = DE_TRY(resolve(name));
  return m->size;
}

Result<std::string> ArchiveFile::read_member(std::string_view name, size_t limit) const {
  auto in = DE_TRY(open_member(name));
  return DE_TRY_CTX(read_all(*in, limit), fmt::format("reading {} in {}", name, source_.string()));
}

std::vector<std::string> ArchiveFile::names() const {
  std::vector<std::string> out;
  for (auto& [name, m] : members_) out.push_back(name);
  return out;
}

}  // namespace de::oci
