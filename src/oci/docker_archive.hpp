// Private: reading and writing `docker save` tarballs.
#pragma once

#include <filesystem>
#include <string_view>

#include "docker_envs/oci/image_ref.hpp"
#include "oci/archive_file.hpp"

namespace de::oci {

// Reads the image chosen by `selector` ("NAME:TAG", "@N" or empty for the only image) from an
// indexed docker-archive: manifest.json (Docker 1.10+, including Docker 25's OCI-in-archive form)
// or, without one, the legacy `repositories` + <id>/json chain.
Result<Image> read_docker_archive(std::shared_ptr<const ArchiveFile> archive,
                                  std::string_view selector);

// Writes `image` as a docker-archive at `path`, tagged `name_tag` (may be empty), with
// manifest.json, the config, per-layer <id>/{layer.tar,json,VERSION} directories and a
// `repositories` file for old engines. Layers are stored uncompressed, as `docker save` does.
Result<WriteResult> write_docker_archive(const Image& image, const std::filesystem::path& path,
                                         std::string_view name_tag);

}  // namespace de::oci
