// Where images come from and go to: "docker-archive:PATH[:NAME:TAG|:@INDEX]", "oci:DIR[:TAG]",
// "oci-archive:PATH[:TAG]", "scratch", or a bare path recognised by its content.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

enum class Transport {
  DockerArchive,  // `docker save` tarball (manifest.json v1.2; legacy repositories; Docker 25+)
  OciLayout,      // OCI image layout directory
  OciArchive,     // OCI image layout in a tar
  Scratch,        // the empty image (source only)
  Auto,           // a bare path: the kind is decided by looking at it
};

struct ImageRef {
  Transport transport = Transport::Auto;
  std::string path;
  // docker-archive: "NAME:TAG" or "@N" (index into manifest.json); oci/oci-archive: the
  // org.opencontainers.image.ref.name annotation. Empty when not given.
  std::string selector;

  static Result<ImageRef> parse(std::string_view text);
  std::string to_string() const;
};

// The index a set of images was read from (an OCI layout's or a registry's multi-platform image),
// so that writing the unedited set keeps the index's bytes and digest (write_image_index, push).
struct SourceIndex {
  std::string media_type;  // OCI index or Docker manifest list
  std::string bytes;
  // The blobs of the entries that are not images (attestation manifests and the blobs they list),
  // by digest, stored as they are.
  std::map<Digest, std::string> other_blobs;
};

struct ReadOptions {
  // For an index (OCI layout with several platforms): which to pick. Default linux/amd64.
  std::optional<Platform> platform;
};

// Reads an image. The returned Image's layers read lazily from the source, which must stay in
// place while the Image is used (temporary extractions are owned by the layers).
Result<Image> read_image(const ImageRef& ref, const ReadOptions& options = {});

// Every image a source holds under one name: a single image, or each platform's image of a
// multi-platform image (an image index; nested indexes are flattened, and entries for the
// platform unknown/unknown, build attestations, are skipped). Layers read lazily, as read_image's.
struct ImageSet {
  std::vector<Image> images;
  std::vector<Platform> platforms;  // each image's: its index entry's, else its config's
  bool index = false;               // the source holds an image index (even of one image)
  // The index blob the images were read from, when one index lists them all (not a nested index):
  // writing the unedited set keeps its bytes and digest (WriteOptions::source_index).
  std::shared_ptr<const SourceIndex> source_index;
};
Result<ImageSet> read_image_set(const ImageRef& ref);

struct WriteOptions {
  // Compression of layers that are written compressed (OCI layouts). Layers already stored with
  // this compression are copied as they are; others are (re)compressed. docker-archive output
  // always holds uncompressed layers, as `docker save` writes them.
  Compression compression = Compression::Gzip;
  // Keep existing compressed blobs even when their compression differs from `compression`.
  bool keep_compressed = true;
  // An unedited image whose layer blobs are copied as they are keeps its source's manifest bytes
  // and media type (Docker schema 2 included), so its digest stays the same; false derives an OCI
  // manifest (and index) for every image (`--format oci`).
  bool keep_source_manifests = true;
  // write_image_index: the index the images came from, written as it is when it lists exactly the
  // manifests written (kept, see above) and `other_blobs`; else an OCI index is derived.
  std::shared_ptr<const SourceIndex> source_index;
};

struct WriteResult {
  Digest manifest_digest;
  Digest config_digest;
  std::vector<Descriptor> layers;  // as written
  // The image manifests written: the one of write_image, or each image's of write_image_index
  // (in the index's order).
  std::vector<Digest> manifests;
};

// Writes an image. Nothing is left at the destination on failure: archives are written to a temp
// file and renamed; a layout directory gets its blobs first and its index.json last (atomically).
Result<WriteResult> write_image(const Image& image, const ImageRef& dest,
                                const WriteOptions& options = {});

// Writes several images (one per platform) as one multi-platform image: an OCI layout (directory
// or archive) whose index.json entry (named by the selector) is an image index listing each
// image's manifest with its config's platform. manifest_digest is the index's digest, layers are
// every image's. docker-archive cannot hold an index (InvalidArgument). Nothing is left at the
// destination on failure, as write_image().
Result<WriteResult> write_image_index(std::span<const Image> images, const ImageRef& dest,
                                      const WriteOptions& options = {});

}  // namespace de::oci
