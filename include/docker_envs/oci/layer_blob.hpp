// Layer blobs kept outside an image: producing a layer's stored bytes into any Writer, and a Layer
// backed by such a blob in a file. Used by content-addressed layer caches (build::LayerCache): a
// layer produced once is written to the cache, and later images use the cached file as it is.
#pragma once

#include <filesystem>
#include <string>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::oci {

struct LayerBlob {
  Descriptor blob;  // OCI layer media type of the compression, digest and size of the bytes written
  Digest diff_id;   // SHA-256 of the uncompressed tar
};

// Writes `layer`'s blob with `compression` to `out` and closes it: the tar is produced, hashed,
// compressed and hashed again in one pass (compression on a second thread). A stored blob that
// already has this compression is copied as it is.
Result<LayerBlob> write_layer_blob(const Layer& layer, Compression compression, Writer& out);

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
