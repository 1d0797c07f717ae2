// Private: a layer that already exists as a blob somewhere (a file in an OCI layout, a member of
// an archive). Opening is delegated to a function so that each source decides where bytes live.
#pragma once

#include <filesystem>
#include <functional>

#include "docker_envs/oci/image.hpp"

namespace de::oci {

class StoredLayer final : public Layer {
 public:
  // Opens the raw stored bytes (unverified; StoredLayer verifies). Must be callable from several
  // threads at once.
  using Opener = std::function<Result<std::unique_ptr<Reader>>()>;

  // `trusted_file`: a file holding exactly the blob, which writers may hard-link or copy without
  // re-hashing (see Layer::trusted_blob_file, oci::BlobFileUse::MayLink); only trusted owners
  // set it.
  StoredLayer(Descriptor blob, std::optional<Digest> diff_id, Compression compression, Opener open,
              std::string origin, std::optional<std::filesystem::path> trusted_file = {})
      : blob_(std::move(blob)),
        diff_id_(diff_id),
        compression_(compression),
        open_(std::move(open)),
        origin_(std::move(origin)),
        trusted_file_(std::move(trusted_file)) {}

  std::optional<Descriptor> blob() const override { return blob_; }
  std::optional<Digest> diff_id() const override { return diff_id_; }
  Result<std::unique_ptr<Reader>> open_blob() const override;
  Result<std::unique_ptr<Reader>> open_tar() const override;
  std::optional<std::uint64_t> tar_size() const override;
  std::string describe() const override;
  std::optional<std::filesystem::path> trusted_blob_file() const override { return trusted_file_; }

 private:
  Descriptor blob_;
  std::optional<Digest> diff_id_;
  Compression compression_;
  Opener open_;
  std::string origin_;
  std::optional<std::filesystem::path> trusted_file_;
};

}  // namespace de::oci
