#include "docker_envs/oci/layer_blob.hpp"

#include "docker_envs/oci/media_types.hpp"
#include "oci/stored_layer.hpp"

namespace de::oci {

Result<LayerBlob> write_layer_blob(const Layer& layer, Compression compression, Writer& out) {
  return produce_layer(
      layer, {.compression = compression, .keep_compressed = false, .docker_media_types = false},
      out);
}

LayerPtr stored_blob_layer(Descriptor blob, std::optional<Digest> diff_id, BlobOpener open,
                           std::string origin) {
  auto compression = media_type::layer_compression(blob.media_type).value_or(Compression::Gzip);
  return std::make_shared<StoredLayer>(std::move(blob), diff_id, compression, std::move(open),
                                       std::move(origin));
}

LayerPtr blob_file_layer(Descriptor blob, Digest diff_id, std::filesystem::path path,
                         std::string origin, BlobFileUse use) {
  auto compression = media_type::layer_compression(blob.media_type).value_or(Compression::Gzip);
  std::optional<std::filesystem::path> trusted_file;
  if (use == BlobFileUse::MayLink) trusted_file = path;
  auto open = [path = std::move(path)]() -> Result<std::unique_ptr<Reader>> {
    return std::unique_ptr<Reader>(DE_TRY(FileReader::open(path)));
  };
  return std::make_shared<StoredLayer>(std::move(blob), diff_id, compression, std::move(open),
                                       std::move(origin), std::move(trusted_file));
}

}  // namespace de::oci
