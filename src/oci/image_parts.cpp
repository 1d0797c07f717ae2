#include "docker_envs/oci/image_parts.hpp"

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

}  // namespace de::oci
