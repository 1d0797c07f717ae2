#include "oci/stored_layer.hpp"

#include "ffi/compress.hpp"

namespace de::oci {

Result<std::unique_ptr<Reader>> StoredLayer::open_blob() const {
  auto raw = DE_TRY_CTX(open_(), "opening " + describe());
  return std::unique_ptr<Reader>(std::make_unique<VerifyingReader>(
      std::move(raw), blob_.digest, static_cast<std::uint64_t>(blob_.size), describe()));
}

Result<std::unique_ptr<Reader>> StoredLayer::open_tar() const {
  auto blob = DE_TRY(open_blob());
  // The media type names the compression, but eStargz and hand-made archives are not always
  // labelled right; the magic bytes decide.
  auto tar = DE_TRY_CTX(ffi::make_auto_decompressor(std::move(blob)), "decompressing " + describe());
  if (!diff_id_) return tar;
  return std::unique_ptr<Reader>(std::make_unique<VerifyingReader>(
      std::move(tar), *diff_id_, std::nullopt, "uncompressed " + describe() + " (diffID)"));
}

std::optional<std::uint64_t> StoredLayer::tar_size() const {
  if (compression_ == Compression::None) return static_cast<std::uint64_t>(blob_.size);
  return std::nullopt;
}

std::string StoredLayer::describe() const {
  return fmt::format("layer {} in {}", blob_.digest.to_string().substr(0, 19), origin_);
}

}  // namespace de::oci
