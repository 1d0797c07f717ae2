// Private: the steps every image writer shares — producing the layers into some blob storage and
// deriving the config and manifest from what was produced.
#pragma once

#include <string>
#include <vector>

#include "docker_envs/oci/transport.hpp"
#include "oci/layer_producer.hpp"

namespace de::oci {

// The config bytes for the written image: the original bytes when the layers' diffIDs are the ones
// the config already states (so copies keep their digests), else the config with diff_ids set.
std::string final_config(const Image& image, const std::vector<ProducedLayer>& layers);

// An OCI image manifest for the produced layers and config.
Manifest oci_manifest(const Image& image, const Descriptor& config,
                      const std::vector<ProducedLayer>& layers);

}  // namespace de::oci
