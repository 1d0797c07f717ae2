// The image model: an Image is a config plus a list of Layers. Layers are small read-only
// interfaces opened on demand (nothing is read until a consumer asks), in the style of
// go-containerregistry's v1.Image / v1.Layer. Mutations (mutate.hpp) return new Images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/config.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

// One layer. Implementations must be safe to open several times (each open is independent) and
// from several threads at once.
class Layer {
 public:
  virtual ~Layer() = default;

  // The stored blob, when the layer has one (a layer read from an image). A layer built from host
  // files has none until it is written somewhere.
  virtual std::optional<Descriptor> blob() const = 0;
  // The diffID (SHA-256 of the uncompressed tar) when known without reading the layer.
  virtual std::optional<Digest> diff_id() const = 0;
  // The stored bytes exactly, verified against blob()->digest as they are read. Fails with
  // Unsupported when blob() is empty.
  virtual Result<std::unique_ptr<Reader>> open_blob() const = 0;
  // The uncompressed tar stream (decompressed from the blob), verified against diff_id() when
  // known.
  virtual Result<std::unique_ptr<Reader>> open_tar() const = 0;
  // Pushes the uncompressed tar into `out` (does not close it). The default copies open_tar();
  // generated layers override it to stream without an intermediate reader.
  virtual Status write_tar(Writer& out) const;
  // Size in bytes of the uncompressed tar when known without reading it.
  virtual std::optional<std::uint64_t> tar_size() const { return std::nullopt; }
  // A short human description for errors and history ("layer sha256:ab12...", "directory ./x").
  virtual std::string describe() const = 0;
  // A file holding exactly blob(), whose owner computed its digest while writing it and never
  // changes it in place (see BlobFileUse::MayLink): writers may hard-link it, or copy it without
  // hashing it again. Empty for every other layer.
  virtual std::optional<std::filesystem::path> trusted_blob_file() const { return std::nullopt; }
};

using LayerPtr = std::shared_ptr<const Layer>;

struct Image {
  ImageConfig config;
  std::vector<LayerPtr> layers;  // bottom first; one per config diff_id
  // Manifest media type of the source (Docker schema 2 or OCI); empty for new images.
  std::string source_manifest_media_type;
  std::map<std::string, std::string> annotations;  // from the source manifest
  std::vector<std::string> names;                  // NAME:TAG names the source gave the image
  // The platform the source's image index lists this image under (it may say more than the
  // config: a variant, an os.version); empty when the image did not come from an index. Index
  // writers list the image with it, else with its config's platform.
  std::optional<Platform> index_platform;

  // For readers: records the bytes the source stores for this image — `config_bytes`, which
  // `config` was parsed from, and the manifest when the source stores one — so that an unmodified
  // image is written back byte for byte (a copy keeps its digests). Call it once `config`,
  // `layers` and `annotations` are complete: the bytes count only while those stay as they are now.
  void keep_source_bytes(std::string config_bytes,
                         std::optional<std::string> manifest_bytes = std::nullopt);
  // Forgets the source's bytes: the config is serialised canonically when written. The mutations
  // (mutate.hpp) call it, so that a mutated image is canonical even when an edit changed nothing.
  void forget_source_bytes() { source_.reset(); }

  // The source's config bytes while `config` is still the document they hold; nullopt for a new
  // image, after forget_source_bytes(), and once the config was changed by any means (so an edit
  // of `config` can never be lost to stale bytes).
  std::optional<std::string_view> source_config_bytes() const;
  // The source's manifest while the config, the layers and the annotations are still the ones it
  // describes; nullopt otherwise. Writers derive their own manifest either way.
  std::optional<std::string_view> source_manifest_bytes() const;
  // The config bytes that would be written: source_config_bytes() when set, else the canonical
  // serialisation of `config`.
  std::string config_bytes() const;

 private:
  struct Source;
  std::shared_ptr<const Source> source_;  // shared: images are copied freely, the bytes are not
};

// The empty image ("scratch"): no layers, linux/amd64, no config beyond the defaults.
Image scratch_image();

}  // namespace de::oci
