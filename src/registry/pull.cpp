// Pull: manifest negotiation, platform choice, verified config and layer downloads into the cache.
#include <algorithm>

#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/registry/artifact.hpp"
#include "registry/blob_transfer.hpp"

namespace de::registry {

namespace mt = oci::media_type;

oci::Platform host_platform() {
#if defined(__x86_64__)
  return oci::Platform{.os = "linux", .architecture = "amd64"};
#elif defined(__aarch64__)
  return oci::Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
#elif defined(__arm__)
  return oci::Platform{.os = "linux", .architecture = "arm", .variant = "v7"};
#elif defined(__powerpc64__)
  return oci::Platform{.os = "linux", .architecture = "ppc64le"};
#elif defined(__s390x__)
  return oci::Platform{.os = "linux", .architecture = "s390x"};
#elif defined(__riscv)
  return oci::Platform{.os = "linux", .architecture = "riscv64"};
#else
  return oci::Platform{.os = "linux", .architecture = "amd64"};
#endif
}

namespace {

Result<oci::Descriptor> choose_platform(const oci::Index& index, const oci::Platform& wanted,
                                        const Reference& ref) {
  std::vector<std::string> available;
  for (auto& d : index.manifests) {
    if (!d.platform) continue;
    if (d.platform->os == "unknown") continue;  // attestation manifests (buildkit)
    if (!mt::is_manifest(d.media_type) && !d.media_type.empty()) continue;
    available.push_back(d.platform->to_string());
    if (d.platform->satisfies(wanted)) return d;
  }
  // An index with a single unlabelled image manifest: take it.
  if (available.empty() && index.manifests.size() == 1 && !index.manifests[0].platform)
    return index.manifests[0];
  return fail(Code::NotFound, "{} has no image for platform {} (available: {})", ref.familiar(),
              wanted.to_string(),
              available.empty() ? "none" : fmt::format("{}", fmt::join(available, ", ")));
}

Result<std::string> fetch_config(Context& ctx, http::Session& session, const oci::Descriptor& d) {
  DE_TRY(ensure_blob(ctx, session, d));
  return read_file(ctx.cache.blob_path(d.digest), 64 << 20);
}

// The image a fetched image manifest describes: config fetched and verified, layers read from the
// cache (downloaded now with fetch_layers, else when first opened), the manifest's bytes kept so
// that an unedited copy keeps its digest.
Result<PullResult> image_from_manifest(const std::shared_ptr<Context>& ctx, http::Session& session,
                                       FetchedManifest fetched, const PullOptions& pull,
                                       const std::string& context) {
  const Reference& ref = ctx->ref;
  PullResult result;
  auto manifest = DE_TRY_CTX(oci::Manifest::parse(fetched.bytes), context);
  if (manifest.config.media_type != mt::kOciConfig &&
      manifest.config.media_type != mt::kDockerConfig)
    return fail(Code::Unsupported, "{}: not a container image (config media type {})", context,
                manifest.config.media_type);

  std::string config_bytes = DE_TRY_CTX(fetch_config(*ctx, session, manifest.config), context);
  auto config = DE_TRY_CTX(oci::ImageConfig::parse(config_bytes), context + ": config");
  auto diff_ids = DE_TRY_CTX(config.diff_ids(), context + ": config");
  if (diff_ids.size() != manifest.layers.size())
    return fail(Code::Corruption, "{}: the manifest lists {} layers but the config has {} diff_ids",
                context, manifest.layers.size(), diff_ids.size());

  oci::Image& image = result.image;
  image.config = std::move(config);
  image.source_manifest_media_type = fetched.media_type;
  image.annotations = manifest.annotations;
  std::string origin = ref.familiar();
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const auto& blob = manifest.layers[i];
    auto compression = mt::layer_compression(blob.media_type);
    if (!compression)
      return fail(Code::Unsupported,
                  "{}: layer {} has media type {}, which is not a known layer type", context, i,
                  blob.media_type);
    // The opener downloads on first use when the layer is not in the cache yet (fetch_layers off,
    // or the cache was cleaned meanwhile); ctx keeps the client and temp cache alive.
    auto open = [ctx, blob]() -> Result<std::unique_ptr<Reader>> {
      if (!ctx->cache.contains(blob.digest, blob.size)) {
        auto s = ctx->client.new_session();
        DE_TRY(ensure_blob(*ctx, *s, blob));
      }
      auto file = DE_TRY(FileReader::open(ctx->cache.blob_path(blob.digest)));
      return std::unique_ptr<Reader>(std::move(file));
    };
    image.layers.push_back(oci::stored_blob_layer(blob, diff_ids[i], std::move(open), origin));
  }
  if (pull.fetch_layers) {
    DE_TRY_CTX(for_each_with_session(*ctx, manifest.layers.size(), ctx->options.parallel,
                                     [&](http::Session& s, size_t i) {
                                       return ensure_blob(*ctx, s, manifest.layers[i]);
                                     }),
               context);
  }
  for (auto& blob : manifest.layers)
    ctx->cache.remember_repository(ref.domain, ref.repository, blob.digest);

  result.manifest_digest = fetched.digest;
  result.manifest_media_type = fetched.media_type;
  image.keep_source_bytes(std::move(config_bytes), fetched.bytes);
  result.manifest = std::move(fetched.bytes);
  return result;
}

// Whether an index entry is an image the image model holds (else it is copied as raw blobs).
bool is_image_entry(const oci::Descriptor& d, const oci::Manifest& m) {
  if (d.platform && d.platform->os == "unknown") return false;  // attestations (buildkit)
  if (m.config.media_type != mt::kOciConfig && m.config.media_type != mt::kDockerConfig)
    return false;
  return std::all_of(m.layers.begin(), m.layers.end(),
                     [](auto& l) { return mt::layer_compression(l.media_type).has_value(); });
}

constexpr std::uint64_t kMaxOtherBlobs = 64 << 20;  // attestations are small; refuse giants

// Adds an entry that is not an image (its manifest and the blobs it lists, verified) to the
// index's other blobs.
Status copy_other_entry(Context& ctx, http::Session& session, const FetchedManifest& fetched,
                        const oci::Manifest& m, oci::SourceIndex& index, std::uint64_t& total) {
  index.other_blobs[fetched.digest] = fetched.bytes;
  std::vector<oci::Descriptor> blobs = m.layers;
  blobs.push_back(m.config);
  for (auto& d : blobs) {
    total += static_cast<std::uint64_t>(std::max<std::int64_t>(d.size, 0));
    if (total > kMaxOtherBlobs)
      return fail(Code::Unsupported,
                  "the entries of the index that are not images hold more than {} MiB",
                  kMaxOtherBlobs >> 20);
    DE_TRY(ensure_blob(ctx, session, d));
    index.other_blobs[d.digest] = DE_TRY(read_file(ctx.cache.blob_path(d.digest), kMaxOtherBlobs));
  }
  return {};
}

}  // namespace

Result<PullResult> pull_image(const Reference& ref, const RegistryOptions& options,
                              const PullOptions& pull) {
  auto ctx = std::make_shared<Context>(ref, options, /*push=*/false);
  std::string context = "pulling " + ref.familiar();
  DE_TRY_CTX(ctx->init_cache(), context);
  auto session = ctx->client.new_session();

  auto fetched = DE_TRY_CTX(fetch_manifest(*ctx, *session, ref.identifier()), context);
  std::optional<Digest> index_digest;
  std::optional<oci::Platform> index_platform;
  if (mt::is_index(fetched.media_type)) {
    auto index = DE_TRY_CTX(oci::Index::parse(fetched.bytes), context);
    oci::Platform wanted = pull.platform.value_or(host_platform());
    auto chosen = DE_TRY_CTX(choose_platform(index, wanted, ref), context);
    index_digest = fetched.digest;
    index_platform = chosen.platform;
    log::debug("{}: index {} -> {} for {}", ref.familiar(), fetched.digest.to_string(),
               chosen.digest.to_string(), wanted.to_string());
    fetched = DE_TRY_CTX(fetch_manifest(*ctx, *session, chosen.digest.to_string()), context);
    if (!mt::is_manifest(fetched.media_type))
      return fail(Code::Unsupported, "{}: the index entry {} is a {}, not an image manifest",
                  context, chosen.digest.to_string(), fetched.media_type);
  }
  auto result = DE_TRY(image_from_manifest(ctx, *session, std::move(fetched), pull, context));
  if (!ref.tag.empty()) result.image.names.push_back(ref.with_tag(ref.tag).familiar());
  result.image.index_platform = index_platform;
  result.index_digest = index_digest;
  result.bytes_downloaded = ctx->bytes_downloaded;
  result.bytes_cached = ctx->bytes_cached;
  return result;
}

Result<PullAllResult> pull_all(const Reference& ref, const RegistryOptions& options,
                               const PullOptions& pull) {
  auto ctx = std::make_shared<Context>(ref, options, /*push=*/false);
  std::string context = "pulling " + ref.familiar();
  DE_TRY_CTX(ctx->init_cache(), context);
  auto session = ctx->client.new_session();

  PullAllResult result;
  auto fetched = DE_TRY_CTX(fetch_manifest(*ctx, *session, ref.identifier()), context);
  if (!mt::is_index(fetched.media_type)) {
    auto one = DE_TRY(image_from_manifest(ctx, *session, std::move(fetched), pull, context));
    if (!ref.tag.empty()) one.image.names.push_back(ref.with_tag(ref.tag).familiar());
    result.images.push_back(std::move(one));
  } else {
    auto index = DE_TRY_CTX(oci::Index::parse(fetched.bytes), context);
    auto source = std::make_shared<oci::SourceIndex>(
        oci::SourceIndex{.media_type = fetched.media_type, .bytes = fetched.bytes});
    result.index_digest = fetched.digest;
    std::uint64_t other_bytes = 0;
    for (auto& child : index.manifests) {
      std::string what = fmt::format("{}: index entry {}", context, child.digest.to_string());
      auto entry = DE_TRY_CTX(fetch_manifest(*ctx, *session, child.digest.to_string()), what);
      if (!mt::is_manifest(entry.media_type))
        return fail(Code::Unsupported, "{} is a {}, not an image manifest", what,
                    entry.media_type);
      auto m = DE_TRY_CTX(oci::Manifest::parse(entry.bytes), what);
      if (!is_image_entry(child, m)) {
        DE_TRY_CTX(copy_other_entry(*ctx, *session, entry, m, *source, other_bytes), what);
        continue;
      }
      result.images.push_back(
          DE_TRY(image_from_manifest(ctx, *session, std::move(entry), pull, what)));
      result.images.back().image.index_platform = child.platform;
      if (!ref.tag.empty())
        result.images.back().image.names.push_back(ref.with_tag(ref.tag).familiar());
    }
    if (result.images.empty())
      return fail(Code::NotFound, "{}: the index lists no image", context);
    result.index = std::move(source);
  }
  result.bytes_downloaded = ctx->bytes_downloaded;
  result.bytes_cached = ctx->bytes_cached;
  return result;
}

Result<std::optional<PulledArtifact>> pull_artifact(const Reference& ref,
                                                    const RegistryOptions& options,
                                                    std::uint64_t max_config) {
  auto ctx = std::make_shared<Context>(ref, options, /*push=*/false);
  std::string context = "pulling " + ref.familiar();
  DE_TRY_CTX(ctx->init_cache(), context);
  auto session = ctx->client.new_session();
  auto fetched = fetch_manifest(*ctx, *session, ref.identifier());
  if (!fetched) {
    if (fetched.error().code() == Code::NotFound) return std::optional<PulledArtifact>();
    return std::unexpected(std::move(fetched).error().add_context(context));
  }
  if (!mt::is_manifest(fetched->media_type) || mt::is_docker(fetched->media_type))
    return fail(Code::Unsupported, "{}: a {}, not an OCI artifact manifest", context,
                fetched->media_type);
  PulledArtifact out;
  out.manifest = DE_TRY_CTX(oci::Manifest::parse(fetched->bytes), context);
  if (out.manifest.config.media_type == mt::kOciConfig ||
      out.manifest.config.media_type == mt::kDockerConfig)
    return fail(Code::Unsupported, "{}: a container image (config {}), not an artifact", context,
                out.manifest.config.media_type);
  if (out.manifest.config.size < 0 ||
      static_cast<std::uint64_t>(out.manifest.config.size) > max_config)
    return fail(Code::Unsupported, "{}: its config is {} bytes, more than the {} accepted",
                context, out.manifest.config.size, max_config);
  DE_TRY_CTX(ensure_blob(*ctx, *session, out.manifest.config), context);
  out.config = DE_TRY_CTX(read_file(ctx->cache.blob_path(out.manifest.config.digest), max_config),
                          context);
  out.manifest_digest = fetched->digest;
  for (auto& blob : out.manifest.layers)
    ctx->cache.remember_repository(ref.domain, ref.repository, blob.digest);
  std::string origin = ref.familiar();
  out.layer = [ctx, origin](const oci::Descriptor& blob, const Digest& diff_id) {
    auto open = [ctx, blob]() -> Result<std::unique_ptr<Reader>> {
      if (!ctx->cache.contains(blob.digest, blob.size)) {
        auto s = ctx->client.new_session();
        DE_TRY(ensure_blob(*ctx, *s, blob));
      }
      return std::unique_ptr<Reader>(DE_TRY(FileReader::open(ctx->cache.blob_path(blob.digest))));
    };
    return oci::stored_blob_layer(blob, diff_id, std::move(open), origin);
  };
  out.prefetch = [ctx](std::span<const oci::Descriptor> blobs) -> Status {
    return for_each_with_session(*ctx, blobs.size(), ctx->options.parallel,
                                 [&](http::Session& s, size_t i) {
                                   return ensure_blob(*ctx, s, blobs[i]);
                                 });
  };
  return std::optional<PulledArtifact>(std::move(out));
}

}  // namespace de::registry
