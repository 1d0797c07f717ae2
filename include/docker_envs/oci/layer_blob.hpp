// Layer blobs outside an image (in the spirit of go-containerregistry's partial package): producing
// a layer's stored bytes in a chosen compression into any Writer, and Layers backed by a blob that
// already exists (a file, a download). Image writers, registry push and content-addressed layer
// caches (build::LayerCache) are built from these: a layer produced once is written to the cache
// or uploaded, and later images use the stored blob as it is.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

struct LayerBlob {
  Descriptor blob;  // OCI layer media type of the compression, digest and size of the bytes written
  Digest diff_id;   // SHA-256 of the uncompressed tar
};

// How a layer's blob is produced.
struct ProduceOptions {
  Compression compression = Compression::Gzip;  // what the written blob should be
  bool keep_compressed = true;  // copy blobs already compressed otherwise, instead of recompressing
  bool docker_media_types = false;  // label the blob with Docker schema 2 media types
};

// When the layer's stored blob can be copied as it is, the result is known before any byte is
// read (so a destination that already has the blob can skip it).
std::optional<LayerBlob> reusable_blob(const Layer& layer, const ProduceOptions& options);

// Writes the layer's blob to `out` (closing it at the end), either copying its verified blob or
// producing its tar and compressing it. The tar is produced on the calling thread while
// compression, hashing and writing run on a second one (uncompressed: hashing and writing on two
// more, side by side). A diffID that does not match the layer's declared one is an error
// (Corruption).
Result<LayerBlob> produce_layer(const Layer& layer, const ProduceOptions& options, Writer& out);

// produce_layer with OCI media types that recompresses whatever is not in `compression` already:
// the tar is produced, hashed, compressed and hashed again in one pass.
Result<LayerBlob> write_layer_blob(const Layer& layer, Compression compression, Writer& out);

// Opens a stored blob's raw bytes (the layer verifies them). Must be callable from several
// threads at once, and again after an earlier reader was dropped.
using BlobOpener = std::function<Result<std::unique_ptr<Reader>>()>;

// A layer whose blob is already stored somewhere (a registry download, a cache): `blob` gives its
// media type (and so its compression), digest and size, `diff_id` the uncompressed tar's digest
// when known. Reads are verified against both. `origin` names where the blob lives in describe()
// ("docker.io/library/debian").
LayerPtr stored_blob_layer(Descriptor blob, std::optional<Digest> diff_id, BlobOpener open,
                           std::string origin);

// Whether writers may hard-link a blob file into an OCI layout directory instead of copying it.
enum class BlobFileUse {
  Copy,     // read (and verified) like any stored blob
  MayLink,  // the owner computed the digest while writing the file and never changes it in place
            // (it writes blobs read-only, replaces them only by renaming a complete file over
            // them): a layout on the same file system gets a hard link to it, and a file output
            // (an archive, a layout elsewhere) an in-kernel copy, neither re-hashed; other
            // writers (a push) read and verify it
};

// A layer whose blob is the file `path` (media type, digest and size from `blob`; its compression
// is the media type's). Reads are verified against the digest and the diffID. `origin` names the
// file's owner in describe() ("layer cache"). The file must stay in place while the layer is used.
LayerPtr blob_file_layer(Descriptor blob, Digest diff_id, std::filesystem::path path,
                         std::string origin, BlobFileUse use = BlobFileUse::Copy);

}  // namespace de::oci
