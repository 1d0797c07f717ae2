// Private: the local content-addressed blob store shared by pulls and pushes.
//
//   <root>/blobs/sha256/<hex>                  verified blobs (written temp + rename)
//   <root>/seen/<registry>/<hex>               repositories of that registry known to hold the blob
//   <root>/compressed/<gzip|zstd>/<diffid hex> the blob (descriptor JSON) a layer compressed into
//
// Safe for concurrent processes: every file is complete when it appears (rename), blobs are
// immutable, and the two indexes are hints only (a lost update costs an upload, never corruption).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::registry {

class BlobCache {
 public:
  explicit BlobCache(std::filesystem::path root) : root_(std::move(root)) {}
  Status init() const;  // creates the directories
  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path blob_path(const Digest& d) const;
  // True when the blob is present with the expected size.
  bool contains(const Digest& d, std::int64_t size) const;

  void remember_repository(std::string_view registry, std::string_view repository,
                           const Digest& d) const;
  std::vector<std::string> repositories_with(std::string_view registry, const Digest& d) const;

  std::optional<oci::Descriptor> compressed_form(const Digest& diff_id, Compression c) const;
  void remember_compressed_form(const Digest& diff_id, Compression c,
                                const oci::Descriptor& blob) const;

 private:
  std::filesystem::path root_;
};

}  // namespace de::registry
