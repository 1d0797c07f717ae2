// Private: turns a Layer into bytes at a destination, computing the diffID and the blob digest in
// the same pass that writes them.
#pragma once

#include <optional>

#include "docker_envs/oci/image.hpp"

namespace de::oci {

struct ProduceOptions {
  Compression compression = Compression::Gzip;  // what the written blob should be
  bool keep_compressed = true;  // copy blobs already compressed otherwise, instead of recompressing
  bool docker_media_types = false;
};

struct ProducedLayer {
  Descriptor blob;  // what was written: media type, digest, size
  Digest diff_id;
};

// When the layer's stored blob can be copied as it is, the result is known before any byte is
// read (so a destination that already has the blob can skip it).
std::optional<ProducedLayer> reusable_blob(const Layer& layer, const ProduceOptions& options);

// Writes the layer to `out` (closing it at the end), either copying its verified blob or producing
// its tar and compressing it. The tar is produced on the calling thread while compression, hashing
// and writing run on a second one (uncompressed: hashing and writing on two more, side by side). A diffID that does not match the layer's declared one is an
// error (Corruption).
Result<ProducedLayer> produce_layer(const Layer& layer, const ProduceOptions& options, Writer& out);

}  // namespace de::oci
