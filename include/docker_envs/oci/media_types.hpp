// Media types of the OCI image spec and of Docker's image manifest v2 schema 2.
#pragma once

#include <optional>
#include <string_view>

#include "docker_envs/base/compression.hpp"

namespace de::oci::media_type {

inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestV1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerManifestV1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerForeignGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Not an official type, but written by some tools for uncompressed Docker layers.
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";

bool is_index(std::string_view mt);     // OCI index or Docker manifest list
bool is_manifest(std::string_view mt);  // OCI or Docker schema 2 image manifest
bool is_schema1(std::string_view mt);
bool is_docker(std::string_view mt);    // any application/vnd.docker.* type

// The compression a layer media type declares, or nullopt when it is not a known layer type.
std::optional<Compression> layer_compression(std::string_view mt);
// The layer media type for a compression, in the OCI or the Docker family.
std::string_view layer_type(Compression c, bool docker);

}  // namespace de::oci::media_type
