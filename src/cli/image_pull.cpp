// `docker-envs image pull [docker://]REF DEST`: fetches an image from a registry (verified, via the
// local blob cache) and writes it to DEST (docker-archive, oci, oci-archive).
#include <nlohmann/json.hpp>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/log.hpp"

namespace de::cli {
namespace {

struct PullCommand {
  std::string reference, destination;
  RegistryFlags flags;
  std::string compression = "gzip";
};

Status run(const PullCommand& o, const Globals& globals) {
  auto dest = DE_TRY(parse_ref(o.destination, "destination"));
  if (dest.transport == oci::Transport::Scratch)
    return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source",
                o.destination);
  auto ref = DE_TRY(parse_registry_ref(o.reference));
  auto options = DE_TRY(registry_options(o.flags));
  registry::PullOptions pull;
  if (!o.flags.platform.empty())
    pull.platform = DE_TRY_CTX(oci::Platform::parse(o.flags.platform), "--platform");
  auto pulled = DE_TRY(registry::pull_image(ref, options, pull));
  log::info("pulled {} (manifest {}, {} bytes downloaded, {} from cache)", ref.familiar(),
            pulled.manifest_digest.to_string(), pulled.bytes_downloaded, pulled.bytes_cached);
  oci::WriteOptions write{.compression = DE_TRY(layer_compression(o.compression))};
  DE_TRY(write_destination(std::move(pulled.image), o.destination, write, globals,
                           /*stamp_created=*/false));
  if (o.flags.json) {
    nlohmann::json j = {{"reference", ref.to_string()},
                        {"manifest_digest", pulled.manifest_digest.to_string()},
                        {"media_type", pulled.manifest_media_type},
                        {"bytes_downloaded", pulled.bytes_downloaded},
                        {"bytes_cached", pulled.bytes_cached}};
    if (pulled.index_digest) j["index_digest"] = pulled.index_digest->to_string();
    fmt::print("{}\n", j.dump());
  }
  return {};
}

}  // namespace

void add_image_pull(CLI::App& parent, Registry& registry) {
  auto options = std::make_shared<PullCommand>();
  auto* sub = parent.add_subcommand("pull", "Pull an image from a registry into a local format");
  sub->fallthrough();
  sub->add_option("REF", options->reference,
                  "Image reference (docker://host/repo:tag, ubuntu, ...)")
      ->required();
  sub->add_option("DEST", options->destination,
                  "Where to write it (docker-archive:, oci:, oci-archive:)")
      ->required();
  add_registry_options(sub, options->flags, /*platform=*/true);
  add_compression_option(sub, options->compression);
  on_run(sub, registry, options, run);
}

}  // namespace de::cli
