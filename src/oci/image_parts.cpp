#include "docker_envs/oci/image_parts.hpp"

#include <algorithm>
#include <set>

#include "docker_envs/oci/media_types.hpp"

namespace de::oci {

std::string final_config(const Image& image, std::span<const LayerBlob> layers) {
  std::vector<Digest> produced;
  for (auto& l : layers) produced.push_back(l.diff_id);
  if (auto source = image.source_config_bytes()) {
    auto declared = image.config.diff_ids();
    if (declared && *declared == produced) return std::string(*source);
  }
  ImageConfig config = image.config;
  config.set_diff_ids(produced);
  return config.to_json();
}

Manifest oci_manifest(const Image& image, const Descriptor& config,
                      std::span<const LayerBlob> layers) {
  Manifest m;
  m.media_type = media_type::kOciManifest;
  m.config = config;
  for (auto& l : layers) m.layers.push_back(l.blob);
  m.annotations = image.annotations;
  return m;
}

std::optional<KeptManifest> kept_source_manifest(const Image& image, std::string_view config,
                                                 std::span<const LayerBlob> layers) {
  auto bytes = image.source_manifest_bytes();
  if (!bytes) return std::nullopt;
  auto manifest = Manifest::parse(*bytes);
  if (!manifest || manifest->config.digest != Digest::of(config) ||
      manifest->config.size != static_cast<std::int64_t>(config.size()) ||
      manifest->layers.size() != layers.size())
    return std::nullopt;
  for (size_t i = 0; i < layers.size(); ++i)
    if (manifest->layers[i].digest != layers[i].blob.digest ||
        manifest->layers[i].size != layers[i].blob.size)
      return std::nullopt;
  std::string media_type = image.source_manifest_media_type.empty()
                               ? manifest->media_type
                               : image.source_manifest_media_type;
  if (!media_type::is_manifest(media_type)) return std::nullopt;
  KeptManifest kept{.bytes = std::string(*bytes)};
  kept.descriptor = Descriptor{.media_type = std::move(media_type),
                               .digest = Digest::of(kept.bytes),
                               .size = static_cast<std::int64_t>(kept.bytes.size())};
  return kept;
}

std::optional<KeptManifest> kept_source_index(const SourceIndex& source,
                                              std::span<const Digest> written) {
  if (!media_type::is_index(source.media_type)) return std::nullopt;
  auto index = Index::parse(source.bytes);
  if (!index) return std::nullopt;
  std::set<Digest> listed;
  for (auto& child : index->manifests) {
    bool image = std::find(written.begin(), written.end(), child.digest) != written.end();
    if (!image && !source.other_blobs.contains(child.digest)) return std::nullopt;
    listed.insert(child.digest);
  }
  for (auto& digest : written)
    if (!listed.contains(digest)) return std::nullopt;
  KeptManifest kept{.bytes = source.bytes};
  kept.descriptor = Descriptor{.media_type = source.media_type,
                               .digest = Digest::of(kept.bytes),
                               .size = static_cast<std::int64_t>(kept.bytes.size())};
  return kept;
}

Descriptor index_entry(const Image& image, Descriptor manifest) {
  manifest.platform = image.index_platform ? *image.index_platform : image.config.platform();
  return manifest;
}

}  // namespace de::oci
