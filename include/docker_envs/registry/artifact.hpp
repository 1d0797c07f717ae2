// OCI artifacts in a registry: a manifest whose config is not an image config (its own media
// type, read as bytes) and whose layers are blobs the artifact keeps alive. docker-envs' shared
// build cache (build/shared_cache.hpp) is one; this is only the transport, as for images.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "docker_envs/registry/client.hpp"

namespace de::registry {

struct PulledArtifact {
  Digest manifest_digest;
  oci::Manifest manifest;
  std::string config;  // the config blob's bytes, verified against its descriptor
  // A layer over one of the artifact's blobs (any blob of the repository, in fact), downloaded
  // into the blob cache (RegistryOptions::cache_dir) and verified when first opened; the layer
  // keeps what it needs to do so alive.
  std::function<oci::LayerPtr(const oci::Descriptor& blob, const Digest& diff_id)> layer;
  // Downloads these blobs into the blob cache now, `RegistryOptions::parallel` at a time (the
  // first failure stops the rest); layers made by `layer` then open them from there.
  std::function<Status(std::span<const oci::Descriptor> blobs)> prefetch;
};

// The artifact `ref` names: its OCI manifest (an index, or a manifest whose config is an image
// config, is refused with Unsupported naming the media types), and its config blob (at most
// `max_config` bytes). nullopt when the registry has no such tag (or digest) or repository.
Result<std::optional<PulledArtifact>> pull_artifact(const Reference& ref,
                                                    const RegistryOptions& options,
                                                    std::uint64_t max_config = 64 << 20);

// What to push: `manifest` lists the config's descriptor and the layers' (their order is the
// artifact's); `config` holds the config's bytes; `layers[i]` gives the bytes of
// manifest.layers[i] when the registry has not got them (read and verified only then).
struct ArtifactToPush {
  oci::Manifest manifest;
  std::string config;
  std::vector<oci::LayerPtr> layers;
};

// Pushes the blobs the registry lacks (HEAD to skip, then a mount from PushOptions::mount_from and
// the repositories the blob cache saw them in, else an upload), the config, then the manifest
// under the reference's tag. Only mount_from and chunk_size of `push` apply.
Result<PushResult> push_artifact(const ArtifactToPush& artifact, const Reference& ref,
                                 const RegistryOptions& options, const PushOptions& push = {});

}  // namespace de::registry
