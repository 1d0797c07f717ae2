#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <optional>
#include <set>
#include <span>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image_parts.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "oci/archive_writer.hpp"
#include "oci/layout.hpp"

namespace de::oci {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

// Where a layout's blobs go.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual Status put(const Digest& digest, std::string_view bytes) = 0;
  virtual Result<LayerBlob> put_layer(const Layer& layer, const ProduceOptions& options) = 0;
};

class DirectorySink final : public BlobSink {
 public:
  explicit DirectorySink(fs::path blobs) : blobs_(std::move(blobs)) {}

  Status put(const Digest& digest, std::string_view bytes) override {
    return put_layout_blob(blobs_, digest, bytes);
  }

  Result<LayerBlob> put_layer(const Layer& layer, const ProduceOptions& options) override {
    if (auto reuse = reusable_blob(layer, options)) {
      // A blob already in the layout is not written again (content-addressed), and a blob whose
      // owner allows it is hard-linked rather than copied.
      fs::path dest = blobs_ / reuse->blob.digest.hex();
      if (exists(dest) || linked(layer, dest)) return *reuse;
    }
    auto out = DE_TRY(AtomicFileWriter::create(blobs_ / ".incoming"));
    LayerBlob produced = DE_TRY(produce_layer(layer, options, *out));
    DE_TRY(out->commit_as(blobs_ / produced.blob.digest.hex()));
    return produced;
  }

 private:
  static bool exists(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
  }
  // Links the layer's blob file at `dest` when its owner allows it (Layer::trusted_blob_file).
  // A link is complete the moment it exists, so no temp file is needed; another file system
  // (EXDEV), a file system without hard links (EPERM), a full link count (EMLINK) or any other
  // failure leaves the copy to the caller.
  static bool linked(const Layer& layer, const fs::path& dest) {
    auto file = layer.trusted_blob_file();
    if (!file) return false;
    if (::link(file->c_str(), dest.c_str()) == 0) return true;
    return errno == EEXIST;  // written meanwhile by a concurrent writer: the same bytes
  }
  fs::path blobs_;
};

class ArchiveSink final : public BlobSink {
 public:
  explicit ArchiveSink(ArchiveWriter& archive) : archive_(archive) {}

  Status put(const Digest& digest, std::string_view bytes) override {
    if (!written_.insert(digest).second) return {};
    return archive_.add_file("blobs/sha256/" + digest.hex(), bytes);
  }

  Result<LayerBlob> put_layer(const Layer& layer, const ProduceOptions& options) override {
    if (auto reuse = reusable_blob(layer, options); reuse && written_.contains(reuse->blob.digest))
      return *reuse;
    static constexpr size_t kNameLength = std::string_view("blobs/sha256/").size() + 64;
    Writer* out = DE_TRY(archive_.begin_streamed(kNameLength));
    LayerBlob produced = DE_TRY(produce_layer(layer, options, *out));
    DE_TRY(archive_.end_streamed("blobs/sha256/" + produced.blob.digest.hex()));
    written_.insert(produced.blob.digest);
    return produced;
  }

 private:
  ArchiveWriter& archive_;
  std::set<Digest> written_;
};

ProduceOptions layout_produce_options(const WriteOptions& options) {
  return ProduceOptions{.compression = options.compression,
                        .keep_compressed = options.keep_compressed,
                        .docker_media_types = false};
}

// Writes layers, config and manifest; returns the manifest descriptor and the result.
Result<std::pair<Descriptor, WriteResult>> write_blobs(const Image& image, BlobSink& sink,
                                                       const WriteOptions& options) {
  std::vector<LayerBlob> layers;
  auto produce = layout_produce_options(options);
  for (size_t i = 0; i < image.layers.size(); ++i)
    layers.push_back(
        DE_TRY_CTX(sink.put_layer(*image.layers[i], produce), fmt::format("writing layer {}", i)));
  std::string config = final_config(image, layers);
  Descriptor config_desc{.media_type = std::string(media_type::kOciConfig),
                         .digest = Digest::of(config),
                         .size = static_cast<std::int64_t>(config.size())};
  DE_TRY(sink.put(config_desc.digest, config));
  std::optional<KeptManifest> kept;
  if (options.keep_source_manifests) kept = kept_source_manifest(image, config, layers);
  std::string manifest =
      kept ? std::move(kept->bytes) : oci_manifest(image, config_desc, layers).to_json();
  Descriptor manifest_desc =
      kept ? std::move(kept->descriptor)
           : Descriptor{.media_type = std::string(media_type::kOciManifest),
                        .digest = Digest::of(manifest),
                        .size = static_cast<std::int64_t>(manifest.size())};
  DE_TRY(sink.put(manifest_desc.digest, manifest));
  WriteResult result{.manifest_digest = manifest_desc.digest,
                     .config_digest = config_desc.digest,
                     .manifests = {manifest_desc.digest}};
  for (auto& l : layers) result.layers.push_back(l.blob);
  return std::make_pair(manifest_desc, result);
}

Descriptor named_entry(Descriptor manifest, std::string_view tag) {
  if (!tag.empty()) manifest.annotations[std::string(kRefNameAnnotation)] = std::string(tag);
  return manifest;
}

// Whether `dir` holds nothing but what an interrupted write of ours leaves (killed before it
// could clean up): the oci-layout file, blobs named by their digest, and temp files.
bool only_unfinished_layout(const fs::path& dir) {
  std::error_code ec;
  auto is_file = [](const fs::directory_entry& e) {
    std::error_code e_ec;
    return e.is_regular_file(e_ec);
  };
  auto is_dir = [](const fs::directory_entry& e) {
    std::error_code e_ec;
    return e.is_directory(e_ec);
  };
  auto listed = [&](const fs::path& d, auto&& allowed) {
    for (const auto& e : fs::directory_iterator(d, ec))
      if (!allowed(e)) return false;
    return !ec;
  };
  auto temp_file = [&](const fs::directory_entry& e) {
    return is_file(e) && is_temp_file_name(e.path().filename().string());
  };
  auto blob = [&](const fs::directory_entry& e) {
    std::string name = e.path().filename().string();
    return temp_file(e) || (is_file(e) && name.size() == 64 &&
                            name.find_first_not_of("0123456789abcdef") == std::string::npos);
  };
  auto blobs = [&](const fs::directory_entry& e) {
    return e.path().filename() == "sha256" && is_dir(e) && listed(e.path(), blob);
  };
  return listed(dir, [&](const fs::directory_entry& e) {
    std::string name = e.path().filename().string();
    if (name == "oci-layout") return is_file(e);
    if (name == "blobs") return is_dir(e) && listed(e.path(), blobs);
    return temp_file(e);
  });
}

}  // namespace

namespace {

// The top-level blobs of one write (an image's manifest, or an index of several), written into a
// sink; returns the descriptor index.json names and the result.
using WriteTop = std::function<Result<std::pair<Descriptor, WriteResult>>(BlobSink&)>;

Result<WriteResult> write_directory(const fs::path& dir, std::string_view tag,
                                    const WriteTop& write_top) {
  WriteResult result;
  auto write_blobs = [&](const fs::path& blobs) -> Result<Descriptor> {
    DirectorySink sink(blobs);
    auto [manifest, written] = DE_TRY(write_top(sink));
    result = std::move(written);
    return manifest;
  };
  DE_TRY(update_layout_directory(dir, tag, write_blobs));
  return result;
}

Result<WriteResult> write_archive(const fs::path& path, std::string_view tag,
                                  const WriteTop& write_top) {
  auto archive = DE_TRY(ArchiveWriter::create(path));
  DE_TRY(archive->add_file("oci-layout", kLayoutFile));
  DE_TRY(archive->add_directory("blobs"));
  DE_TRY(archive->add_directory("blobs/sha256"));
  ArchiveSink sink(*archive);
  auto [manifest, result] = DE_TRY_CTX(write_top(sink), "writing " + path.string());
  Index index{.media_type = std::string(media_type::kOciIndex),
              .manifests = {named_entry(manifest, tag)}};
  DE_TRY(archive->add_file("index.json", index.to_json()));
  DE_TRY(archive->commit());
  return result;
}

// Every image's blobs and manifest, then an image index listing the manifests with their
// platforms.
Result<std::pair<Descriptor, WriteResult>> write_index_blobs(std::span<const Image> images,
                                                             BlobSink& sink,
                                                             const WriteOptions& options) {
  Index index{.media_type = std::string(media_type::kOciIndex)};
  WriteResult result;
  for (size_t i = 0; i < images.size(); ++i) {
    auto [manifest, written] =
        DE_TRY_CTX(write_blobs(images[i], sink, options), fmt::format("image {} of the index", i));
    result.manifests.push_back(manifest.digest);
    index.manifests.push_back(index_entry(images[i], std::move(manifest)));
    for (auto& l : written.layers) result.layers.push_back(std::move(l));
  }
  // The source's index when it still lists exactly these manifests (every image unedited).
  std::optional<KeptManifest> kept;
  if (options.keep_source_manifests && options.source_index)
    kept = kept_source_index(*options.source_index, result.manifests);
  if (kept) {
    for (auto& [digest, bytes] : options.source_index->other_blobs) DE_TRY(sink.put(digest, bytes));
    DE_TRY(sink.put(kept->descriptor.digest, kept->bytes));
    result.manifest_digest = kept->descriptor.digest;
    return std::make_pair(kept->descriptor, result);
  }
  std::string json = index.to_json();
  Descriptor desc{.media_type = std::string(media_type::kOciIndex),
                  .digest = Digest::of(json),
                  .size = static_cast<std::int64_t>(json.size())};
  DE_TRY(sink.put(desc.digest, json));
  result.manifest_digest = desc.digest;
  return std::make_pair(desc, result);
}

}  // namespace

bool has_layout_blob(const fs::path& blobs_dir, const Digest& digest, std::uint64_t size) {
  std::error_code ec;
  auto found = fs::file_size(blobs_dir / digest.hex(), ec);
  return !ec && found == size;
}

Status put_layout_blob(const fs::path& blobs_dir, const Digest& digest, std::string_view bytes) {
  if (has_layout_blob(blobs_dir, digest, bytes.size())) return {};
  return write_file_atomic(blobs_dir / digest.hex(), bytes);
}

namespace {

// The index of the layout at `dir` (an existing directory): its index.json, or an empty one when
// the directory is empty or holds only what an unfinished write of ours leaves. Another writer of
// the same layout may rename its index.json into place while this looks, so index.json is looked
// for again after a listing that found more than an unfinished write.
Result<Index> existing_index(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail(Code::InvalidArgument, "{} exists and is not a directory", dir.string());
  auto has_index = [&] { return fs::exists(dir / "index.json", ec); };
  if (!has_index()) {
    if (fs::is_empty(dir, ec) || only_unfinished_layout(dir))
      return Index{.media_type = std::string(media_type::kOciIndex)};
    if (!has_index())
      return fail(Code::InvalidArgument, "{} is a non-empty directory that is not an OCI layout",
                  dir.string());
  }
  if (!fs::exists(dir / "oci-layout", ec))
    return fail(Code::InvalidArgument, "{} has an index.json but no oci-layout file", dir.string());
  std::string existing = DE_TRY(read_file(dir / "index.json"));
  return DE_TRY_CTX(Index::parse(existing), (dir / "index.json").string());
}

}  // namespace

Status update_layout_directory(const fs::path& dir, std::string_view tag,
                               const WriteLayoutBlobs& write_blobs) {
  std::error_code ec;
  // A directory this write creates is removed again if the write fails or is interrupted. One
  // that another writer creates first (builds sharing an output) is written to as it stands.
  std::optional<NewDirectory> created;
  if (!fs::exists(dir, ec)) {
    auto made = NewDirectory::create(dir);
    if (made)
      created = std::move(*made);
    else if (!fs::is_directory(dir, ec))
      return std::unexpected(std::move(made).error());
  }
  Index index = created ? Index{.media_type = std::string(media_type::kOciIndex)}
                        : DE_TRY(existing_index(dir));
  // Never `dir` itself: a signal's cleanup may have removed it already.
  DE_TRY(make_dirs_below(dir, "blobs/sha256"));

  Descriptor manifest =
      DE_TRY_CTX(write_blobs(dir / "blobs" / "sha256"), "writing " + dir.string());

  // A name points at one image: writing it replaces the entry of the same name, and an unnamed
  // write replaces the unnamed entry, so `oci:DIR` keeps meaning the image last written there.
  std::erase_if(index.manifests, [&](const Descriptor& d) { return ref_name(d) == tag; });
  index.manifests.push_back(named_entry(manifest, tag));
  index.media_type = media_type::kOciIndex;
  DE_TRY(write_file_atomic(dir / "oci-layout", kLayoutFile));
  DE_TRY(write_file_atomic(dir / "index.json", index.to_json()));
  if (created) created->keep();
  return {};
}

Result<WriteResult> write_oci_directory(const Image& image, const fs::path& dir,
                                        std::string_view tag, const WriteOptions& options) {
  return write_directory(dir, tag,
                         [&](BlobSink& sink) { return write_blobs(image, sink, options); });
}

Result<WriteResult> write_oci_archive(const Image& image, const fs::path& path,
                                      std::string_view tag, const WriteOptions& options) {
  return write_archive(path, tag,
                       [&](BlobSink& sink) { return write_blobs(image, sink, options); });
}

Result<WriteResult> write_oci_index_directory(std::span<const Image> images, const fs::path& dir,
                                              std::string_view tag, const WriteOptions& options) {
  return write_directory(dir, tag,
                         [&](BlobSink& sink) { return write_index_blobs(images, sink, options); });
}

Result<WriteResult> write_oci_index_archive(std::span<const Image> images, const fs::path& path,
                                            std::string_view tag, const WriteOptions& options) {
  return write_archive(path, tag,
                       [&](BlobSink& sink) { return write_index_blobs(images, sink, options); });
}

}  // namespace de::oci
