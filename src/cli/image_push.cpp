// `docker-envs image push SRC [SRC...] [docker://]REF`: pushes an image (or, given several sources,
// one image per platform plus an index over them; a multi-platform source: all its platforms unless
// --platform picks one) to a registry.
#include <nlohmann/json.hpp>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/log.hpp"

namespace de::cli {
namespace {

struct PushCommand {
  std::vector<std::string> args;  // SRC... REF
  RegistryFlags flags;
  std::optional<std::string> compression;
  std::string format = "auto";
  std::uint64_t chunk_size = 0;
  std::vector<std::string> mount_from;
};

Status run(const PushCommand& o, const Globals& globals) {
  if (o.args.size() < 2) return fail(Code::InvalidArgument, "push needs SRC and REF");
  auto ref = DE_TRY(parse_registry_ref(o.args.back()));
  // Every source's images: a multi-platform source gives each of its platforms (or the one
  // --platform picks); several sources are one platform each, under one index.
  // --compression given: every layer ends in it (stored layers in another one are recompressed);
  // absent: new layers gzip, stored compressed layers pushed as they are.
  auto write = DE_TRY(compression_options(o.compression));
  std::vector<oci::Image> images;
  std::shared_ptr<const oci::SourceIndex> source_index;
  bool index = o.args.size() > 2;
  for (size_t i = 0; i + 1 < o.args.size(); ++i) {
    // A docker:// source is read with this command's registry flags: every platform of an index
    // (its blobs and the index itself) unless --platform picks one.
    auto read = is_registry_ref(o.args[i])
                    ? DE_TRY(read_registry_sources(o.args[i], o.flags))
                    : DE_TRY(read_sources(o.args[i], o.flags.platform, PlatformUse::Pick));
    index = index || read.index;
    if (o.args.size() == 2) source_index = read.source_index;
    for (auto& image : read.images) images.push_back(std::move(image));
  }
  ProgressDisplay display(globals.progress);
  auto options = DE_TRY(registry_options(o.flags, display.reporter(), "push", "uploaded"));
  registry::PushOptions push{.compression = write.compression,
                             .keep_compressed = write.keep_compressed,
                             .format = o.format == "oci"      ? registry::ManifestFormat::Oci
                                       : o.format == "docker" ? registry::ManifestFormat::Docker
                                                              : registry::ManifestFormat::Auto,
                             .chunk_size = o.chunk_size,
                             .mount_from = o.mount_from,
                             .source_index = source_index};
  display.stage_start("push", ref.familiar());
  auto result = index ? DE_TRY(registry::push_index(images, ref, options, push))
                      : DE_TRY(registry::push_image(images[0], ref, options, push));
  display.stage_end("push", fmt::format("{} {}", index ? "index" : "manifest",
                                        result.manifest_digest.to_string()));
  log::info("pushed {} (manifest {}): {} blob(s) uploaded ({} bytes), {} already there, {} mounted",
            ref.familiar(), result.manifest_digest.to_string(), result.blobs_uploaded,
            result.bytes_uploaded, result.blobs_skipped, result.blobs_mounted);
  if (o.flags.json) {
    nlohmann::json j = {{"reference", ref.to_string()},
                        {"manifest_digest", result.manifest_digest.to_string()},
                        {"media_type", result.media_type},
                        {"size", result.size},
                        {"bytes_uploaded", result.bytes_uploaded},
                        {"bytes_skipped", result.bytes_skipped},
                        {"bytes_mounted", result.bytes_mounted},
                        {"blobs_uploaded", result.blobs_uploaded},
                        {"blobs_skipped", result.blobs_skipped},
                        {"blobs_mounted", result.blobs_mounted}};
    nlohmann::json manifests = nlohmann::json::array();
    for (auto& d : result.manifests) manifests.push_back(d.to_string());
    j["manifests"] = manifests;
    fmt::print("{}\n", j.dump());
  }
  return {};
}

}  // namespace

void add_image_push(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<PushCommand>();
  auto* sub = parent.add_subcommand(
      "push",
      "Push an image to a registry (a multi-platform source, or several sources, one per "
      "platform: under an index)");
  sub->fallthrough();
  sub->add_option("SRC REF", options->args,
                  "Source image(s), then the reference docker://host/repo:tag")
      ->required()
      ->expected(2, -1);
  add_registry_options(sub, options->flags, /*platform=*/false);
  add_platform_option(sub, options->flags.platform, PlatformUse::Pick);
  add_compression_option(sub, options->compression);
  sub->add_option("--format", options->format,
                  "Manifest format: auto (Docker schema 2 for Docker sources, else OCI), oci, "
                  "docker (refused with zstd layers: Docker has no zstd layer type)")
      ->check(CLI::IsMember({"auto", "oci", "docker"}))
      ->capture_default_str();
  sub->add_option("--chunk-size", options->chunk_size,
                  "Upload blobs larger than this many bytes in PATCH chunks (0: one PUT per blob)")
      ->capture_default_str();
  sub->add_option("--mount-from", options->mount_from,
                  "Repository of the same registry to mount existing blobs from (repeatable)");
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
