// Target: reading an image from a docker-archive or an oci-archive (an OCI layout in a tar): the
// first input byte picks the transport, the rest is the archive. Covers manifest.json,
// index.json, oci-layout, image manifests and configs as found in archives, and the layers' tars.
#include <array>

#include "docker_envs/oci/tar.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "fuzz_util.hpp"

namespace {

void read_layers(const de::oci::Image& image) {
  std::array<std::byte, 4096> buf;
  for (const auto& layer : image.layers) {
    auto tar_stream = layer->open_tar();
    if (!tar_stream) continue;
    de::oci::TarReader tar(**tar_stream);
    for (int entries = 0; entries < 1000; ++entries) {
      auto entry = tar.next();
      if (!entry || !*entry) break;
      while (true) {
        auto n = tar.read_data(buf);
        if (!n || *n == 0) break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  bool oci = (data[0] & 1) != 0;
  auto path = de::fuzz::scratch_dir() / (oci ? "image.oci.tar" : "image.docker.tar");
  de::fuzz::write_file(path, de::fuzz::as_text(data + 1, size - 1));
  de::oci::ImageRef ref;
  ref.transport = oci ? de::oci::Transport::OciArchive : de::oci::Transport::DockerArchive;
  ref.path = path.string();
  if ((data[0] & 2) != 0) ref.selector = oci ? "latest" : "@1";
  auto image = de::oci::read_image(ref);
  if (image) {
    (void)image->config.diff_ids();
    (void)image->config.history();
    (void)image->config.env();
    read_layers(*image);
  }
  return 0;
}
