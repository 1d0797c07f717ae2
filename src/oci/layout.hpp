// Private: reading and writing OCI image layouts, as a directory or as a tar (oci-archive).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/oci/image_ref.hpp"
#include "oci/archive_file.hpp"

namespace de::oci {

// Where the blobs of a layout live: a directory's blobs/ or an archive's members.
struct BlobSource {
  // Opens blobs/<algorithm>/<hex> (unverified bytes).
  std::function<Result<std::unique_ptr<Reader>>(const Digest&)> open;
  std::string origin;  // for messages and Layer::describe()
};

BlobSource directory_blobs(const std::filesystem::path& dir);
BlobSource archive_blobs(std::shared_ptr<const ArchiveFile> archive);

// The annotation an index.json entry is named by, and an entry's name ("" when it has none).
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
std::string ref_name(const Descriptor& d);

// Where the blob `digest` lives in the layout directory `dir` (blobs/sha256/<hex>: only a parsed
// digest makes the name, so it never leaves blobs/).
std::filesystem::path layout_blob_path(const std::filesystem::path& dir, const Digest& digest);

// Manifests, indexes and image configs are small: a blob claiming more is refused unread.
inline constexpr std::uint64_t kMaxLayoutDocument = 8 << 20;

// The bytes of the (small) blob `d`, verified against its digest and size; `what` ("manifest",
// "config") names it in errors, and one larger than `limit` is refused unread.
Result<std::string> read_layout_blob(const BlobSource& blobs, const Descriptor& d,
                                     std::string_view what,
                                     std::uint64_t limit = kMaxLayoutDocument);

// Whether the blobs directory `blobs_dir` (DIR/blobs/sha256) holds the blob `digest` with `size`
// bytes (a file of another size is the remains of a damaged copy, written again).
bool has_layout_blob(const std::filesystem::path& blobs_dir, const Digest& digest,
                     std::uint64_t size);
// Writes `bytes` as the blob `digest` into `blobs_dir` (temp file, then rename) unless it is there.
Status put_layout_blob(const std::filesystem::path& blobs_dir, const Digest& digest,
                       std::string_view bytes);

// Writes blobs into a layout's blobs/sha256 directory and returns the descriptor of the manifest
// (or index) that index.json is to name.
using WriteLayoutBlobs = std::function<Result<Descriptor>(const std::filesystem::path& blobs_dir)>;

// The one writer of a layout directory's index.json: `dir` is created with its oci-layout file when
// absent (and removed again when the write fails; one another writer creates meanwhile is written
// to as it stands); an existing layout keeps its blobs and its other entries. `write_blobs` runs
// first, then index.json is replaced atomically with the entry named `tag` (the unnamed entry when
// `tag` is empty) pointing at the descriptor it returned.
Status update_layout_directory(const std::filesystem::path& dir, std::string_view tag,
                               const WriteLayoutBlobs& write_blobs);

// Reads the image that `selector` (an org.opencontainers.image.ref.name, or empty for the only
// one) names in `index_json`, descending through nested indexes by platform.
Result<Image> read_oci_layout(const BlobSource& blobs, std::string_view index_json,
                              std::string_view selector, const ReadOptions& options);

// Every image under the entry `selector` names (see read_image_set()).
Result<ImageSet> read_oci_layout_set(const BlobSource& blobs, std::string_view index_json,
                                     std::string_view selector);

Result<WriteResult> write_oci_directory(const Image& image, const std::filesystem::path& dir,
                                        std::string_view tag, const WriteOptions& options);
Result<WriteResult> write_oci_archive(const Image& image, const std::filesystem::path& path,
                                      std::string_view tag, const WriteOptions& options);

// Several images under one image index (see write_image_index()).
Result<WriteResult> write_oci_index_directory(std::span<const Image> images,
                                              const std::filesystem::path& dir,
                                              std::string_view tag, const WriteOptions& options);
Result<WriteResult> write_oci_index_archive(std::span<const Image> images,
                                            const std::filesystem::path& path, std::string_view tag,
                                            const WriteOptions& options);

}  // namespace de::oci
