#include "docker_envs/oci/image.hpp"

namespace de::oci {

Status Layer::write_tar(Writer& out) const {
  auto in = DE_TRY(open_tar());
  DE_TRY_CTX(copy(*in, out), "reading " + describe());
  return {};
}

struct Image::Source {
  std::string config_bytes;
  std::optional<std::string> manifest_bytes;
  // What the bytes describe, as it was when they were recorded.
  ImageConfig config;
  std::vector<LayerPtr> layers;
  std::map<std::string, std::string> annotations;
};

void Image::keep_source_bytes(std::string config_bytes, std::optional<std::string> manifest_bytes) {
  source_ = std::make_shared<const Source>(Source{.config_bytes = std::move(config_bytes),
                                                  .manifest_bytes = std::move(manifest_bytes),
                                                  .config = config,
                                                  .layers = layers,
                                                  .annotations = annotations});
}

std::optional<std::string_view> Image::source_config_bytes() const {
  if (!source_ || !(source_->config == config)) return std::nullopt;
  return source_->config_bytes;
}

std::optional<std::string_view> Image::source_manifest_bytes() const {
  if (!source_ || !source_->manifest_bytes || !(source_->config == config) ||
      source_->layers != layers || source_->annotations != annotations)
    return std::nullopt;
  return *source_->manifest_bytes;
}

std::string Image::config_bytes() const {
  if (auto bytes = source_config_bytes()) return std::string(*bytes);
  return config.to_json();
}

Image scratch_image() {
  Image image;
  image.config.set_diff_ids({});
  return image;
}

}  // namespace de::oci
