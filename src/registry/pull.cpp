// Pull: manifest negotiation, platform choice, verified config and layer downloads into the cache.
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/media_types.hpp"
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

}  // namespace

Result<PullResult> pull_image(const Reference& ref, const RegistryOptions& options,
                              const PullOptions& pull) {
  auto ctx = std::make_shared<Context>(ref, options, /*push=*/false);
  std::string context = "pulling " + ref.familiar();
  DE_TRY_CTX(ctx->init_cache(), context);
  auto session = ctx->client.new_session();

  PullResult result;
  auto fetched = DE_TRY_CTX(fetch_manifest(*ctx, *session, ref.identifier()), context);
  if (mt::is_index(fetched.media_type)) {
    auto index = DE_TRY_CTX(oci::Index::parse(fetched.bytes), context);
    oci::Platform wanted = pull.platform.value_or(host_platform());
    auto chosen = DE_TRY_CTX(choose_platform(index, wanted, ref), context);
    result.index_digest = fetched.digest;
    log::debug("{}: index {} -> {} for {}", ref.familiar(), fetched.digest.to_string(),
               chosen.digest.to_string(), wanted.to_string());
    fetched = DE_TRY_CTX(fetch_manifest(*ctx, *session, chosen.digest.to_string()), context);
    if (!mt::is_manifest(fetched.media_type))
      return fail(Code::Unsupported, "{}: the index entry {} is a {}, not an image manifest",
                  context, chosen.digest.to_string(), fetched.media_type);
  }
  auto manifest = DE_TRY_CTX(oci::Manifest::parse(fetched.bytes), context);
  if (manifest.config.media_type != mt::kOciConfig &&
      manifest.config.media_type != mt::kDockerConfig)
    return fail(Code::Unsupported, "{}: not a container image (config media type {})", context,
                manifest.config.media_type);

  std::string config_bytes = DE_TRY_CTX(fetch_config(*ctx, *session, manifest.config), context);
  auto config = DE_TRY_CTX(oci::ImageConfig::parse(config_bytes), context + ": config");
  auto diff_ids = DE_TRY_CTX(config.diff_ids(), context + ": config");
  if (diff_ids.size() != manifest.layers.size())
    return fail(Code::Corruption, "{}: the manifest lists {} layers but the config has {} diff_ids",
                context, manifest.layers.size(), diff_ids.size());

  oci::Image& image = result.image;
  image.config = std::move(config);
  image.source_manifest_media_type = fetched.media_type;
  image.annotations = manifest.annotations;
  if (!ref.tag.empty()) image.names.push_back(ref.with_tag(ref.tag).familiar());
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
    DE_TRY_CTX(parallel_for(*ctx, manifest.layers.size(), options.parallel,
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
  result.bytes_downloaded = ctx->bytes_downloaded;
  result.bytes_cached = ctx->bytes_cached;
  return result;
}

}  // namespace de::registry
