// What a reference names in a registry: an image index (its digest and its images' platforms) or
// a single image, without fetching anything else.
#include "docker_envs/oci/media_types.hpp"
#include "registry/blob_transfer.hpp"

namespace de::registry {

Result<std::optional<IndexPlatforms>> index_platforms(const Reference& ref,
                                                      const RegistryOptions& options) {
  Context ctx(ref, options, /*push=*/false);
  std::string context = "reading " + ref.familiar();
  auto session = ctx.client.new_session();
  auto fetched = DE_TRY_CTX(fetch_manifest(ctx, *session, ref.identifier()), context);
  if (!oci::media_type::is_index(fetched.media_type)) return std::nullopt;
  auto index = DE_TRY_CTX(oci::Index::parse(fetched.bytes), context);
  IndexPlatforms out{.digest = fetched.digest};
  for (auto& d : index.manifests) {
    if (!d.platform || d.platform->os == "unknown") continue;  // unlabelled, or an attestation
    if (!d.media_type.empty() && !oci::media_type::is_manifest(d.media_type)) continue;
    out.platforms.push_back(*d.platform);
  }
  if (out.platforms.empty()) return std::nullopt;  // pull_image takes its only image
  return out;
}

}  // namespace de::registry
