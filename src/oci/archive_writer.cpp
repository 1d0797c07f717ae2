#include "oci/archive_writer.hpp"

#include "docker_envs/oci/tar.hpp"

namespace de::oci {

// Counts what passes through to the archive file.
class ArchiveWriter::Member final : public Writer {
 public:
  explicit Member(Writer& file) : file_(file) {}
  Status write(std::span<const std::byte> data) override {
    size_ += data.size();
    return file_.write(data);
  }
  Result<bool> append_file(const std::filesystem::path& path, std::uint64_t size) override {
    bool done = DE_TRY(file_.append_file(path, size));
    if (done) size_ += size;
    return done;
  }
  std::uint64_t size() const { return size_; }

 private:
  Writer& file_;
  std::uint64_t size_ = 0;
};

namespace {

TarEntry member_entry(std::string_view name, EntryType type, std::uint64_t size) {
  TarEntry e;
  e.path = std::string(name);
  e.type = type;
  e.mode = type == EntryType::Directory ? 0755 : 0644;
  e.size = size;
  return e;  // uid/gid 0, mtime 0: archives depend only on their content
}

}  // namespace

ArchiveWriter::ArchiveWriter(std::unique_ptr<AtomicFileWriter> file) : file_(std::move(file)) {}
ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::create(const std::filesystem::path& path) {
  auto file = DE_TRY(AtomicFileWriter::create(path));
  return std::unique_ptr<ArchiveWriter>(new ArchiveWriter(std::move(file)));
}

Status ArchiveWriter::add_directory(std::string_view name) {
  TarWriter tar(*file_);
  return tar.add(member_entry(name, EntryType::Directory, 0));
}

Status ArchiveWriter::add_file(std::string_view name, std::string_view content) {
  TarWriter tar(*file_);
  StringReader data{std::string(content)};
  return tar.add(member_entry(name, EntryType::File, content.size()), &data);
}

Result<Writer*> ArchiveWriter::begin_streamed(size_t name_length) {
  if (open_) return fail(Code::Internal, "archive member already open");
  if (name_length == 0 || name_length > 100)
    return fail(Code::Internal, "streamed archive member names must have 1..100 bytes");
  header_offset_ = file_->bytes_written();
  name_length_ = name_length;
  DE_TRY(file_->write(std::string(TarWriter::kBlockSize, '\0')));
  open_ = std::make_unique<Member>(*file_);
  return open_.get();
}

Status ArchiveWriter::end_streamed(std::string_view name) {
  if (!open_) return fail(Code::Internal, "no archive member is open");
  if (name.size() != name_length_)
    return fail(Code::Internal, "member name '{}' does not have the reserved length", name);
  std::uint64_t size = open_->size();
  open_.reset();
  DE_TRY(file_->write(std::string(TarWriter::padding(size), '\0')));
  // One block, as reserved: members of 8 GiB or more get a base-256 size field.
  std::string header =
      DE_TRY(TarWriter::encode_single_header(member_entry(name, EntryType::File, size)));
  return file_->pwrite(header_offset_, as_bytes(header));
}

Status ArchiveWriter::commit() {
  if (open_) return fail(Code::Internal, "archive member still open at commit");
  TarWriter tar(*file_);
  DE_TRY(tar.finish());
  return file_->commit();
}

}  // namespace de::oci
