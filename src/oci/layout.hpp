// Private: reading and writing OCI image layouts, as a directory or as a tar (oci-archive).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <span>
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
