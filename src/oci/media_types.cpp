#include "docker_envs/oci/media_types.hpp"

namespace de::oci::media_type {

bool is_index(std::string_view mt) { return mt == kOciIndex || mt == kDockerManifestList; }
bool is_manifest(std::string_view mt) { return mt == kOciManifest || mt == kDockerManifest; }
bool is_schema1(std::string_view mt) {
  return mt == kDockerManifestV1 || mt == kDockerManifestV1Signed;
}
bool is_docker(std::string_view mt) { return mt.starts_with("application/vnd.docker."); }

std::optional<Compression> layer_compression(std::string_view mt) {
  if (mt == kOciLayer || mt == kOciLayerNondistributable || mt == kDockerLayer)
    return Compression::None;
  if (mt == kOciLayerGzip || mt == kOciLayerNondistributableGzip || mt == kDockerLayerGzip ||
      mt == kDockerLayerForeignGzip)
    return Compression::Gzip;
  if (mt == kOciLayerZstd || mt == kOciLayerNondistributableZstd) return Compression::Zstd;
  return std::nullopt;
}

std::string_view layer_type(Compression c, bool docker) {
  switch (c) {
    case Compression::Gzip: return docker ? kDockerLayerGzip : kOciLayerGzip;
    case Compression::Zstd: return kOciLayerZstd;  // Docker has no zstd type of its own
    default: return docker ? kDockerLayer : kOciLayer;
  }
}

}  // namespace de::oci::media_type
