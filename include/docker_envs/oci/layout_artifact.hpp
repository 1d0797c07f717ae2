// OCI artifacts in an OCI image layout directory (`oci:DIR` with a name): an OCI image manifest
// whose config is not an image config (its own media type, read as bytes, usually with an
// `artifactType`) and whose layers are ordinary blobs. docker-envs' shared build cache is one;
// registry/artifact.hpp is the same for a registry. The layout stays readable by other tools
// (skopeo, umoci): index.json names the manifest like an image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

struct LayoutArtifact {
  Digest manifest_digest;
  Manifest manifest;
  std::string config;  // the config blob's bytes, verified against manifest.config
  // A layer over a blob of the layout (blobs/sha256/<hex>), verified against `blob` and `diff_id`
  // as it is read (oci::stored_blob_layer). The directory is read when the layer is opened.
  std::function<LayerPtr(const Descriptor& blob, const Digest& diff_id)> layer;
};

// The manifest index.json names `tag` (org.opencontainers.image.ref.name) in the layout `dir`:
// nullopt when the directory or its index.json does not exist or no entry has that name; an error
// (naming the file) when index.json or the manifest is damaged, when the entry is an index or a
// manifest whose config is an image config (kOciConfig/kDockerConfig: "a container image, not an
// artifact"), or when the config is larger than max_config bytes. The manifest blob and the config
// blob are verified against their digests. `tag` must be a valid name (see write_layout_artifact).
Result<std::optional<LayoutArtifact>> read_layout_artifact(const std::filesystem::path& dir,
                                                           std::string_view tag,
                                                           std::uint64_t max_config = 64 << 20);

// Writes the artifact into `dir` (created with oci-layout if absent; an existing layout keeps its
// other entries and blobs): each blob of manifest.layers that the layout lacks (absent, or wrong
// size) is written from layers[i]->open_blob() (verified against the descriptor, temp file +
// rename), then the config, then the manifest blob, then index.json (temp + rename) with the entry
// for `tag` replaced (or added), annotated org.opencontainers.image.ref.name = tag, mediaType = the
// manifest's, and artifactType set from manifest.artifact_type. Returns the manifest's digest.
//
// `manifest` must be an OCI image manifest whose config is not an image config, `config` the bytes
// manifest.config describes, and `layers.size()` equal manifest.layers.size(). `tag` must be a
// ref name of the OCI image layout spec: components of letters and digits joined by one of
// `-._:@+` or `--`, separated by '/' (not empty).
Result<Digest> write_layout_artifact(const std::filesystem::path& dir, std::string_view tag,
                                     const Manifest& manifest, std::string_view config,
                                     std::span<const LayerPtr> layers);

}  // namespace de::oci
