#include "oci/image_writer.hpp"

#include "docker_envs/oci/media_types.hpp"

namespace de::oci {

std::string final_config(const Image& image, const std::vector<ProducedLayer>& layers) {
  std::vector<Digest> produced;
  for (auto& l : layers) produced.push_back(l.diff_id);
  if (image.raw_config) {
    auto declared = image.config.diff_ids();
    if (declared && *declared == produced) return *image.raw_config;
  }
  ImageConfig config = image.config;
  config.set_diff_ids(produced);
  return config.to_json();
}

Manifest oci_manifest(const Image& image, const Descriptor& config,
                      const std::vector<ProducedLayer>& layers) {
  Manifest m;
  m.media_type = media_type::kOciManifest;
  m.config = config;
  for (auto& l : layers) m.layers.push_back(l.blob);
  m.annotations = image.annotations;
  return m;
}

}  // namespace de::oci
