// What every image writer derives from the layer blobs it produced (in the spirit of
// go-containerregistry's partial package): the final config bytes and the image manifest. The
// docker-archive and OCI layout writers and registry push share these, so that the same image gets
// the same config and manifest wherever it is written.
#pragma once

#include <span>
#include <string>

#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

// The config bytes for the written image: the source's bytes when the config is unchanged and the
// produced layers' diffIDs are the ones it already states (so copies keep their digests), else the
// config with diff_ids set from `layers`, serialised canonically.
std::string final_config(const Image& image, std::span<const LayerBlob> layers);

// An OCI image manifest for the produced layers and the config descriptor, with the image's
// annotations. (A Docker schema 2 manifest is this one with its media type changed and no
// annotations.)
Manifest oci_manifest(const Image& image, const Descriptor& config,
                      std::span<const LayerBlob> layers);

// The source's manifest as it is (its bytes and its media type, Docker schema 2 included), when it
// describes exactly what a writer produced: the image is unedited (Image::source_manifest_bytes)
// and `config` and the layer blobs are the ones the manifest lists (same digests, same order).
// Writers that store it instead of deriving a manifest keep the image's digest, as crane and
// containerd do; nullopt means the manifest must be derived (oci_manifest).
struct KeptManifest {
  std::string bytes;
  Descriptor descriptor;  // media type, digest and size of `bytes`
};
std::optional<KeptManifest> kept_source_manifest(const Image& image, std::string_view config,
                                                 std::span<const LayerBlob> layers);

// The source index as it is (its bytes and media type, a Docker manifest list included), when it
// describes exactly what a writer stored: it lists every image manifest written (`written`, each
// kept as the source stored it) and nothing else but entries whose blobs `source.other_blobs`
// holds (attestations, stored as they are). Writers that store it keep the index's digest;
// nullopt means the index must be derived (index_entry for each image).
std::optional<KeptManifest> kept_source_index(const SourceIndex& source,
                                              std::span<const Digest> written);

// The entry of a derived index for an image written with the manifest `manifest`: its descriptor
// with the platform the source index gave the image (Image::index_platform), else the config's.
Descriptor index_entry(const Image& image, Descriptor manifest);

}  // namespace de::oci
