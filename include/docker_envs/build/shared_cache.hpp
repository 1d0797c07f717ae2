// The shared build cache (`build --cache-from REF`, `--cache-to REF`; docs/cache.md#the-shared-
// build-cache): what builds made, kept in a registry as an OCI artifact so that every machine that
// builds the same environments can use it.
//
// The artifact is an OCI image manifest with artifactType kSharedCacheArtifactType whose config
// (kSharedCacheConfigType, the JSON of SharedCacheIndex) maps
//   - each layer key (layer_cache.hpp: a hash of exactly what a layer's bytes depend on) to its
//     blob descriptor, diffID and tar size, and
//   - each whole-image key (the image memo's, docs/cache.md#the-whole-image-memo) to what a build
//     needs to finish without the packages: the layers (label, packages, layer key), the created
//     time, the activation scripts' exports, the warnings, the platform;
//   - each group memo (layer_group_key: a layer named by its packages' plans) to its layer key;
// and whose layers are those blobs (by digest), so that the registry keeps them alive. Pushing
// adds to what the tag holds and uploads only the blobs the registry lacks.
//
// What the cache says is trusted as the repository it lives in is: a blob is verified against the
// digest and diffID the cache names, not against the packages. A cache that cannot be read (an
// unreachable registry, no such tag, a damaged config, another format) is a warning: the build
// runs without it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/build/image_spec.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/build/layer_cache.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/registry/client.hpp"

namespace de::build {

inline constexpr std::string_view kSharedCacheArtifactType =
    "application/vnd.docker-envs.build-cache.v1";
inline constexpr std::string_view kSharedCacheConfigType =
    "application/vnd.docker-envs.build-cache.config.v1+json";
// Written: format 2 (plans in bundles). Read: 2, and 1 (each plan a blob of its own), which a
// push rewrites as 2. A reader of format 1 alone refuses a format-2 cache as a whole (a warning,
// the build runs without it) rather than reading a bundle as one plan.
inline constexpr std::string_view kSharedCacheFormat = "docker-envs build cache 2";
inline constexpr std::string_view kSharedCacheFormatV1 = "docker-envs build cache 1";
// A package's plan (conda::PortablePlan), zstd-compressed: what lets a machine plan a package, and
// so compute its layer's key, without fetching it.
inline constexpr std::string_view kSharedPlanType =
    "application/vnd.docker-envs.package-plan.v1+zstd";
// Several plan blobs one after the other (each its own zstd frame): the plans one push added, so
// that a machine reading them makes one request, not one per package.
inline constexpr std::string_view kSharedPlanBundleType =
    "application/vnd.docker-envs.package-plans.v1+zstd";
// How much one cache keeps: the most recently written images, and their layers plus the most
// recently written others up to kSharedCacheMaxLayers (older entries are dropped on push).
inline constexpr std::size_t kSharedCacheMaxImages = 256;
inline constexpr std::size_t kSharedCacheMaxLayers = 8192;
inline constexpr std::size_t kSharedCacheMaxPlans = 8192;

struct SharedLayerEntry {
  oci::Descriptor blob;  // a layer media type, digest, size
  Digest diff_id;
  std::uint64_t tar_size = 0;
  std::int64_t written = 0;  // Unix seconds of the push that added it (for trimming)
};

struct SharedImageLayer {
  std::string label;
  std::vector<std::string> packages;  // dist names; empty for the environment-wide layer
  Digest key;                         // a key of SharedCacheIndex::layers
};

struct SharedImageEntry {
  std::string platform;  // conda platform ("linux-64"), informative (the key covers it)
  std::string created;   // RFC 3339
  std::vector<SharedImageLayer> layers;
  std::vector<NameValue> activation;
  std::vector<std::string> warnings;
  std::int64_t written = 0;
};

struct SharedPlanEntry {
  oci::Descriptor blob;  // kSharedPlanType, or kSharedPlanBundleType holding it at offset
  std::uint64_t offset = 0, length = 0;  // in a bundle (length > 0); else the whole blob
  std::int64_t written = 0;
};

// The artifact's config.
struct SharedCacheIndex {
  std::map<Digest, SharedLayerEntry> layers;  // by layer key
  std::map<Digest, SharedImageEntry> images;  // by whole-image key
  std::map<Digest, SharedPlanEntry> plans;    // by shared_plan_key
  std::map<Digest, Digest> groups;            // group memo -> a key of `layers`

  std::string encode() const;
  // Refuses (Corruption, naming what is wrong) what is not this format: another format version,
  // a layer entry that is not a layer blob, an image naming a layer key the index lacks.
  static Result<SharedCacheIndex> decode(std::string_view text);
  // Adds `newer`'s entries (replacing those with the same keys), then keeps what the limits above
  // allow.
  void merge(const SharedCacheIndex& newer);
  // Every blob the layers and plans name, once each, by digest.
  std::vector<oci::Descriptor> blobs() const;
};

// The key of a package's plan in a shared cache: what the plan depends on (conda's
// package_plan_key: the package's bytes by sha256, the fields of its record that override
// index.json, the prefix, the planner's format and options, the site-packages directory of
// noarch: python packages, for which `python` names the environment's python record), computable
// before the package is fetched. nullopt for a package without a sha256.
std::optional<Digest> shared_plan_key(const conda::PackageRecord& package, std::string_view prefix,
                                      std::string_view python);
// A plan as a blob (kSharedPlanType) and back; decode refuses what is not one (Corruption).
Result<std::string> encode_shared_plan(const conda::PortablePlan& plan);
Result<conda::PortablePlan> decode_shared_plan(std::string_view blob);

// The entries one build contributes: its layers by key, and its image by its whole-image key
// (none when it had no key).
SharedCacheIndex shared_cache_entries(const BuildResult& result, std::string_view platform,
                                      std::int64_t now);

// Where a cache lives: docker://REF (a registry tag) or oci:DIR[:TAG] (an OCI layout, tag
// "latest" by default).
struct SharedCacheRef {
  std::string text;  // as given
  bool registry = false;
  std::optional<registry::Reference> reference;
  std::string dir, tag;  // oci:
  static Result<SharedCacheRef> parse(std::string_view text);
};

// The caches of --cache-from, read once before a build and asked by build_image.
class SharedCache {
 public:
  struct Source {
    SharedCacheRef ref;
    std::optional<Digest> manifest;  // when read
    std::size_t images = 0, layers = 0;
    std::string error;               // why it is not used (empty when it is)
  };
  using RegistryOptionsFn = std::function<Result<registry::RegistryOptions>()>;

  SharedCache();
  ~SharedCache();
  SharedCache(SharedCache&&) noexcept;
  SharedCache& operator=(SharedCache&&) noexcept;

  // Reads each cache; one that cannot be read is a Source with an error (and a warning in the
  // log, or with `warn` false a -v note: a --cache-to target read ahead of its push, which says
  // what went wrong itself), never a failure.
  static SharedCache load(std::span<const SharedCacheRef> refs, const RegistryOptionsFn& registry,
                          bool warn = true);

  const std::vector<Source>& sources() const;
  bool empty() const;
  // The index read from `ref` (for --cache-to of the same tag), when it was read.
  const SharedCacheIndex* index_of(const SharedCacheRef& ref) const;
  // A layer by layer key, opened from the cache that holds it (downloaded and verified when first
  // read), or nullopt.
  std::optional<CachedLayer> layer(const Digest& key) const;
  // The entry of a whole-image key and the cache it came from, or nullptr.
  const SharedImageEntry* image(const Digest& key, std::string* from = nullptr) const;
  // The layer key a cache holds for a group memo (layer_group_key), or nullopt.
  std::optional<Digest> group_layer(const Digest& alias) const;
  // The layer entry of a key (descriptor, diffID), or nullptr.
  const SharedLayerEntry* layer_entry(const Digest& key) const;
  // Whether a cache holds the plan of `key`, and the plan itself (downloaded, verified, decoded).
  bool has_plan(const Digest& key) const;
  Result<conda::PortablePlan> plan(const Digest& key) const;
  // Downloads the plans of these keys at once, in parallel (each cache's transfers share their
  // connections), so that plan() then reads them locally. A failure is the caller's to ignore:
  // plan() tries again.
  Status prefetch_plans(std::span<const Digest> keys) const;
  // Downloads these blobs now, in parallel, from the caches that hold them (a local output is
  // about to read them all).
  Status prefetch(std::span<const oci::Descriptor> blobs) const;
  // The repositories of the registry `domain` the caches live in (a push there mounts from them).
  std::vector<std::string> repositories_on(std::string_view domain) const;
  // The blobs those repositories hold (every blob a cache there lists): a push mounts them at once.
  std::set<Digest> blobs_on(std::string_view domain) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --cache-to: adds `entries` to the cache at `ref` (its current index read first, or taken from
// `known` when --cache-from read the same tag) and pushes it, mounting blobs from `mount_from`
// (repositories of the same registry) where the registry lacks them. `blob_layer` gives the bytes
// of a blob this machine has (this build's layers, the layer cache), or nullptr.
struct SharedCachePush {
  Digest manifest;
  std::size_t images = 0, layers = 0;
  std::uint64_t bytes_uploaded = 0;
  int blobs_uploaded = 0, blobs_skipped = 0, blobs_mounted = 0;
};
Result<SharedCachePush> push_shared_cache(
    const SharedCacheRef& ref, const SharedCacheIndex& entries, const SharedCacheIndex* known,
    const std::function<oci::LayerPtr(const oci::Descriptor&)>& blob_layer,
    std::vector<std::string> mount_from, const SharedCache::RegistryOptionsFn& registry);

}  // namespace de::build
