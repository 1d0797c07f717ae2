#include "ffi/archive.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <vector>

namespace de::ffi {

namespace {

constexpr size_t kBlock = 256 << 10;

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadHandle = std::unique_ptr<struct archive, ArchiveReadDeleter>;

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using WriteHandle = std::unique_ptr<struct archive, ArchiveWriteDeleter>;

struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryHandle = std::unique_ptr<struct archive_entry, EntryDeleter>;

std::string archive_message(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

Status configure(struct archive* a, ArchiveKind kind) {
  int rc = ARCHIVE_OK;
  if (kind == ArchiveKind::Tar) {
    if (archive_read_support_filter_all(a) != ARCHIVE_OK) rc = ARCHIVE_FATAL;
    if (archive_read_support_format_tar(a) != ARCHIVE_OK) rc = ARCHIVE_FATAL;
  } else if (kind == ArchiveKind::ZipCentralDirectory) {
    if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK) rc = ARCHIVE_FATAL;
  } else {
    // The streaming zip reader: members are read in order without seeking. conda packages store
    // their members (no compression) with sizes in the local headers.
    if (archive_read_support_format_zip_streamable(a) != ARCHIVE_OK) rc = ARCHIVE_FATAL;
  }
  if (rc != ARCHIVE_OK) return fail(Code::Internal, "libarchive setup: {}", archive_message(a));
  return {};
}

}  // namespace

struct ArchiveReader::Impl {
  ReadHandle handle;
  Reader* source = nullptr;              // open_stream only
  std::vector<std::byte> source_buffer;  // what libarchive reads from `source`
  std::optional<Error> source_error;     // the source's error, reported instead of libarchive's
};

namespace {

la_ssize_t read_callback(struct archive*, void* client, const void** buffer) {
  auto* impl = static_cast<ArchiveReader::Impl*>(client);
  auto n = impl->source->read(impl->source_buffer);
  if (!n) {
    impl->source_error = n.error();
    return -1;
  }
  *buffer = impl->source_buffer.data();
  return static_cast<la_ssize_t>(*n);
}

}  // namespace

ArchiveReader::ArchiveReader(std::unique_ptr<Impl> impl, std::string name)
    : impl_(std::move(impl)), name_(std::move(name)) {}
ArchiveReader::~ArchiveReader() = default;

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::open_file(const std::filesystem::path& path,
                                                                ArchiveKind kind) {
  auto impl = std::make_unique<Impl>();
  impl->handle.reset(archive_read_new());
  if (!impl->handle) return fail(Code::Internal, "archive_read_new failed");
  DE_TRY(configure(impl->handle.get(), kind));
  if (archive_read_open_filename(impl->handle.get(), path.c_str(), kBlock) != ARCHIVE_OK) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return fail(Code::NotFound, "{}: no such file", path.string());
    return fail(Code::Corruption, "{}: {}", path.string(), archive_message(impl->handle.get()));
  }
  return std::unique_ptr<ArchiveReader>(new ArchiveReader(std::move(impl), path.string()));
}

Result<std::unique_ptr<ArchiveReader>> ArchiveReader::open_stream(Reader& source, ArchiveKind kind,
                                                                  std::string name) {
  if (kind == ArchiveKind::ZipCentralDirectory)
    return fail(Code::Internal, "{}: a zip's central directory needs a file, not a stream", name);
  auto impl = std::make_unique<Impl>();
  impl->handle.reset(archive_read_new());
  if (!impl->handle) return fail(Code::Internal, "archive_read_new failed");
  DE_TRY(configure(impl->handle.get(), kind));
  impl->source = &source;
  impl->source_buffer.resize(kBlock);
  if (archive_read_open(impl->handle.get(), impl.get(), nullptr, read_callback, nullptr) !=
      ARCHIVE_OK) {
    if (impl->source_error)
      return std::unexpected(std::move(*impl->source_error).add_context(name));
    return fail(Code::Corruption, "{}: {}", name, archive_message(impl->handle.get()));
  }
  return std::unique_ptr<ArchiveReader>(new ArchiveReader(std::move(impl), std::move(name)));
}

Result<std::optional<ArchiveEntry>> ArchiveReader::next() {
  struct archive_entry* e = nullptr;
  int rc = archive_read_next_header(impl_->handle.get(), &e);
  if (rc == ARCHIVE_EOF) return std::optional<ArchiveEntry>();
  if (rc < ARCHIVE_WARN) {
    if (impl_->source_error) return std::unexpected(Error(*impl_->source_error).add_context(name_));
    return fail(Code::Corruption, "{}: {}", name_, archive_message(impl_->handle.get()));
  }
  ArchiveEntry entry;
  const char* path = archive_entry_pathname(e);
  if (!path) return fail(Code::Corruption, "{}: entry without a path", name_);
  entry.path = path;
  entry.mode = static_cast<std::uint32_t>(archive_entry_perm(e));
  entry.size = archive_entry_size_is_set(e) ? static_cast<std::uint64_t>(archive_entry_size(e)) : 0;
  if (const char* hl = archive_entry_hardlink(e)) {
    entry.type = ArchiveEntryType::Hardlink;
    entry.link_target = hl;
    return std::optional<ArchiveEntry>(std::move(entry));
  }
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      entry.type = ArchiveEntryType::File;
      break;
    case AE_IFDIR:
      entry.type = ArchiveEntryType::Directory;
      break;
    case AE_IFLNK: {
      entry.type = ArchiveEntryType::Symlink;
      const char* target = archive_entry_symlink(e);
      entry.link_target = target ? target : "";
      break;
    }
    default:
      entry.type = ArchiveEntryType::Other;
      break;
  }
  return std::optional<ArchiveEntry>(std::move(entry));
}

Result<size_t> ArchiveReader::read(std::span<std::byte> buf) {
  la_ssize_t n = archive_read_data(impl_->handle.get(), buf.data(), buf.size());
  if (n < 0) {
    if (impl_->source_error) return std::unexpected(Error(*impl_->source_error).add_context(name_));
    return fail(Code::Corruption, "{}: {}", name_, archive_message(impl_->handle.get()));
  }
  return static_cast<size_t>(n);
}

// ---------------------------------------------------------------------------------------------

struct ArchiveWriter::Impl {
  WriteHandle handle;
  std::unique_ptr<AtomicFileWriter> out;
  std::optional<Error> out_error;
  bool closed = false;
};

namespace {

la_ssize_t write_callback(struct archive*, void* client, const void* buffer, size_t length) {
  auto* impl = static_cast<ArchiveWriter::Impl*>(client);
  auto st = impl->out->write(std::span(static_cast<const std::byte*>(buffer), length));
  if (!st) {
    impl->out_error = st.error();
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

}  // namespace

ArchiveWriter::ArchiveWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::create(const std::filesystem::path& path,
                                                             ArchiveWriteFormat format) {
  auto impl = std::make_unique<Impl>();
  impl->out = DE_TRY(AtomicFileWriter::create(path));
  impl->handle.reset(archive_write_new());
  struct archive* a = impl->handle.get();
  int rc = ARCHIVE_OK;
  switch (format) {
    case ArchiveWriteFormat::TarBz2:
      rc = archive_write_set_format_pax_restricted(a);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_bzip2(a);
      break;
    case ArchiveWriteFormat::TarZstd:
      rc = archive_write_set_format_pax_restricted(a);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_zstd(a);
      break;
    case ArchiveWriteFormat::Tar:
      rc = archive_write_set_format_pax_restricted(a);
      break;
    case ArchiveWriteFormat::ZipStored:
      rc = archive_write_set_format_zip(a);
      if (rc == ARCHIVE_OK) rc = archive_write_set_options(a, "zip:compression=store");
      break;
  }
  if (rc != ARCHIVE_OK)
    return fail(Code::Internal, "libarchive writer setup: {}", archive_message(a));
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open(a, impl.get(), nullptr, write_callback, nullptr) != ARCHIVE_OK)
    return fail(Code::Io, "{}: {}", path.string(), archive_message(a));
  return std::unique_ptr<ArchiveWriter>(new ArchiveWriter(std::move(impl)));
}

namespace {

Status write_entry(ArchiveWriter::Impl& impl, std::string_view path, unsigned type,
                   std::uint32_t mode, std::string_view content, const char* symlink,
                   const char* hardlink) {
  EntryHandle e(archive_entry_new());
  std::string p(path);
  archive_entry_set_pathname(e.get(), p.c_str());
  archive_entry_set_mtime(e.get(), 0, 0);
  if (hardlink) {
    archive_entry_set_hardlink(e.get(), hardlink);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), 0);
  } else {
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    if (symlink) archive_entry_set_symlink(e.get(), symlink);
    archive_entry_set_size(e.get(), type == AE_IFREG ? static_cast<la_int64_t>(content.size()) : 0);
  }
  struct archive* a = impl.handle.get();
  if (archive_write_header(a, e.get()) < ARCHIVE_WARN)
    return fail(Code::Io, "writing header of {}: {}", path, archive_message(a));
  if (!hardlink && type == AE_IFREG && !content.empty()) {
    if (archive_write_data(a, content.data(), content.size()) < 0)
      return fail(Code::Io, "writing {}: {}", path, archive_message(a));
  }
  return {};
}

}  // namespace

Status ArchiveWriter::add_file(std::string_view path, std::string_view content,
                               std::uint32_t mode) {
  return write_entry(*impl_, path, AE_IFREG, mode, content, nullptr, nullptr);
}
Status ArchiveWriter::add_directory(std::string_view path, std::uint32_t mode) {
  return write_entry(*impl_, path, AE_IFDIR, mode, {}, nullptr, nullptr);
}
Status ArchiveWriter::add_symlink(std::string_view path, std::string_view target) {
  std::string t(target);
  return write_entry(*impl_, path, AE_IFLNK, 0777, {}, t.c_str(), nullptr);
}
Status ArchiveWriter::add_hardlink(std::string_view path, std::string_view target) {
  std::string t(target);
  return write_entry(*impl_, path, AE_IFREG, 0644, {}, nullptr, t.c_str());
}

Status ArchiveWriter::close() {
  if (impl_->closed) return {};
  impl_->closed = true;
  if (archive_write_close(impl_->handle.get()) != ARCHIVE_OK) {
    if (impl_->out_error) return std::unexpected(*impl_->out_error);
    return fail(Code::Io, "closing archive: {}", archive_message(impl_->handle.get()));
  }
  return impl_->out->commit();
}

}  // namespace de::ffi
