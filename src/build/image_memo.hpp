// The whole-image memo (private to the build module): what a build derived from its packages,
// kept under one key, so that a rebuild with the same inputs reads one small file instead of
// fetching, extracting and planning every package and hashing every entry into layer keys.
//
// The key (compute_image_memo_key) hashes everything the environment's layers and the facts
// below depend on: a format version (kImageMemoFormat, and the layer cache's), every package
// record with its sha256 (a package without one gives no key: its bytes are not known before it
// is fetched), the wheels with theirs, the prefix, the platform, the owner, SOURCE_DATE_EPOCH,
// `created_by` (conda-meta/history holds it), the layering strategy and budget, the number of
// base layers (the budget counts them), the compression, and added files by path, type, mode and
// content. What only the config holds (name, env, labels, entrypoint, cmd, workdir, the base's
// PATH) is not in it: the config is made from the request on every build, hit or miss, by the
// same code, so changing a label keeps the memo and the output is byte for byte what the
// normal path writes.
//
// An entry is `<layer cache>/images/<key hex>.json`: the layers (label, packages, layer key, blob
// descriptor, diffID), the created time, the activation scripts' exports, the warnings. It is
// written after every layer it names is in the layer cache, to a temp file renamed into place
// (crash safe; concurrent builds write the same bytes). A lookup is a hit only when the entry
// decodes, names its own key, and every blob it names is in the layer cache with its size
// (LayerCache::blob, which stamps it for `cache prune`); anything else is a miss, and the normal
// build writes the entry again.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/build/layer_cache.hpp"

namespace de::build::detail {

// Bump when what a build derives from the same inputs changes (the installer's plans, the layer
// grouping, the facts kept below); the layer cache's kLayerFormatVersion is hashed too.
inline constexpr std::string_view kImageMemoFormat = "docker-envs image memo 1";

// The key of `request`'s environment, or nullopt with `why_not` when it cannot have one.
struct ImageMemoKey {
  std::optional<Digest> key;
  std::string why_not;  // "package x-1-0 has no sha256"
};
// `added_files` are request.files as the final layer's entries, `file_content` identifies their
// bytes (the builder's: a SHA-256 of the file); a failure of it fails the key.
Result<ImageMemoKey> compute_image_memo_key(const BuildRequest& request,
                                            std::span<const conda::InstallEntry> added_files,
                                            const ContentId& file_content);

struct MemoLayer {
  std::string label;
  std::vector<std::string> packages;  // dist names; empty for the environment-wide layer
  Digest key;                         // the layer cache's key
  CachedLayer cached;                 // blob descriptor and diffID (layer set by find())
};

struct ImageMemo {
  std::string created;                 // RFC 3339: history times, `created` and its label
  std::vector<MemoLayer> layers;       // bottom first, the environment-wide one last
  std::vector<NameValue> activation;   // exports of etc/conda/activate.d/*.sh, in order
  std::vector<std::string> warnings;   // the build's warnings (plan, layer count, activation)
};

std::string encode_image_memo(const Digest& key, const ImageMemo& memo);
// nullopt when `text` is not a memo for `key`.
std::optional<ImageMemo> decode_image_memo(std::string_view text, const Digest& key);

class ImageMemoCache {
 public:
  // Entries under `layers.root()/images`; blobs from `layers`.
  explicit ImageMemoCache(const LayerCache& layers) : layers_(layers) {}
  std::filesystem::path path_of(const Digest& key) const;
  // The memo with every layer backed by its cached blob, or nullopt (absent, damaged, a blob gone).
  Result<std::optional<ImageMemo>> find(const Digest& key) const;
  Status put(const Digest& key, const ImageMemo& memo) const;

 private:
  const LayerCache& layers_;
};

}  // namespace de::build::detail
