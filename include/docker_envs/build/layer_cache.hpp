// A content-addressed cache of produced layers, shared by concurrent builds.
//
// A layer's key is a SHA-256 over exactly what determines its bytes: a format version, the
// compression, the prefix, the owner, the mtime, and for every entry its path, type, mode, size,
// link target and the identity of its content (the package's sha256 and the file's path inside
// the package, or the bytes themselves for generated content). Host paths (where the package
// cache lives) are not part of it, so two machines compute the same keys.
//
// Layout under root:
//   blobs/sha256/<hex>   a layer blob (compressed as the key says), named by its digest
//   keys/<key hex>.json  {"digest", "size", "media_type", "diff_id", "tar_size"}, and for a
//                        group memo (an alias) also "layer_key": the key the layer has
// (beside them: plans/, the installer's per-package plans, and images/, the whole-image memos of
// build_image, which name blobs of this cache; see docs/cache.md)
// Both are written to a temp file beside them and renamed into place (blob first, then key), so a
// reader sees a complete entry or none; concurrent builds producing one key write the same bytes
// and the last rename wins harmlessly. A key whose blob is missing or has the wrong size is a miss.
// Blobs are read-only (0444) and never changed in place, so the layers find() and put() return may
// be hard-linked into an OCI layout on the same file system (oci::BlobFileUse::MayLink): an
// output then shares the cache file's inode, and a later rename in the cache leaves it intact.
// A LayerCache is thread-safe (it holds only its root).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/build/entries_layer.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::build {

// Bumped whenever the way layers are produced changes their bytes.
inline constexpr std::string_view kLayerFormatVersion = "docker-envs layer 1";

struct LayerKeyOptions {
  EntriesLayerOptions layer;  // prefix, owner, mtime (description is not part of the key)
  Compression compression = Compression::Gzip;
};

// Identifies the bytes of a HostFile / Rewrite entry without reading them when possible
// ("<package sha256>/<path inside the package>").
using ContentId = std::function<Result<std::string>(const conda::InstallEntry&)>;

Result<Digest> layer_key(std::span<const conda::InstallEntry> entries,
                         const LayerKeyOptions& options, const ContentId& content_id);

struct CachedLayer {
  oci::LayerPtr layer;  // backed by the cached blob
  oci::Descriptor blob;
  Digest diff_id;
  std::uint64_t tar_size = 0;
};

// One package of a layer named by its packages' plans (a group memo): its dist name, the identity
// of its bytes (its sha256, as ContentId's ids start) and the digest of its planned entries
// (conda::PackageSummary::plan).
struct LayerGroupMember {
  std::string_view dist;
  std::string_view content;
  Digest plan;
};
// The alias under which LayerCache keeps the layer of `members` (in layer order), valid only when
// merging the environment left their entries as their plans made them
// (conda::summarize_environment): then equal aliases mean equal entries, so equal layer keys.
Digest layer_group_key(std::span<const LayerGroupMember> members, const LayerKeyOptions& options);

class LayerCache {
 public:
  explicit LayerCache(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  // The cached layer for `key`, or nullopt when absent (or incomplete).
  Result<std::optional<CachedLayer>> find(const Digest& key) const;
  // The layer of a blob known from elsewhere (the image memo): nullopt when the blob is not in
  // the cache with `blob.size` bytes. Its use is recorded (`cache prune` leaves it alone).
  std::optional<CachedLayer> blob(const oci::Descriptor& blob, const Digest& diff_id,
                                  std::uint64_t tar_size) const;
  // Produces `layer` with `compression` into the cache under `key` and returns the cached layer.
  Result<CachedLayer> put(const Digest& key, const oci::Layer& layer,
                          Compression compression) const;
  // Group memos: a key that names a layer by what it is made of (the plans of its packages, see
  // docs/cache.md) rather than by its entries. find_alias gives the layer's own key and the cached
  // layer; nullopt when the alias or its blob is absent.
  struct Aliased {
    Digest key;
    CachedLayer layer;
  };
  Result<std::optional<Aliased>> find_alias(const Digest& alias) const;
  Status record_alias(const Digest& alias, const Digest& key, const CachedLayer& layer) const;
  // Keeps a layer that was made elsewhere (a shared cache's) under `key`: its blob copied in
  // (verified as it is read; nothing copied when the cache has it), then the key. Returns the
  // cached layer.
  Result<CachedLayer> adopt(const Digest& key, const CachedLayer& layer) const;

 private:
  // Writes keys/<key>.json for the blob of `layer`, which is in the cache; returns it as cached.
  Result<CachedLayer> record(const Digest& key, CachedLayer layer,
                             const std::optional<Digest>& layer_key = std::nullopt) const;
  // Reads keys/<key>.json: the cached layer and its "layer_key" when it has one.
  Result<std::optional<Aliased>> read_key(const Digest& key) const;

  std::filesystem::path root_;
};

}  // namespace de::build
