// `docker-envs image remove-layer SRC DEST [--index N]`: drops one layer (default: the top one)
// with its diff_id and history entry, from every platform of a multi-platform image or the one
// --platform names.
#include "cli/common.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {
namespace {

struct RemoveLayerOptions {
  std::string source, destination;
  std::optional<std::size_t> index;
  std::string platform;
};

Status run(const RemoveLayerOptions& o, const Globals& globals) {
  DE_TRY(check_destination(o.destination));
  auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Edit));
  DE_TRY_CTX(
      images.edit([&](oci::Image image) { return oci::remove_layer(std::move(image), o.index); }),
      fmt::format("removing a layer from {}", o.source));
  return write_destinations(std::move(images), o.destination, oci::WriteOptions{}, globals,
                            /*stamp_created=*/true);
}

}  // namespace

void add_image_remove_layer(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<RemoveLayerOptions>();
  auto* sub = parent.add_subcommand(
      "remove-layer", "Remove one layer (default: the top one) and write the result to DEST");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to edit")->required();
  sub->add_option("DEST", options->destination, "Where to write the result")->required();
  sub->add_option("--index", options->index, "Layer to remove: 0 = bottom (default: the top one)")
      ->check(non_negative("layers are counted from 0 (the bottom)"));
  add_platform_option(sub, options->platform, PlatformUse::Edit);
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
