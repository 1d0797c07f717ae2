#include "docker_envs/oci/image.hpp"

namespace de::oci {

Status Layer::write_tar(Writer& out) const {
  auto in = DE_TRY(open_tar());
  DE_TRY_CTX(copy(*in, out), "reading " + describe());
  return {};
}

Image scratch_image() {
  Image image;
  image.config.set_diff_ids({});
  return image;
}

}  // namespace de::oci
