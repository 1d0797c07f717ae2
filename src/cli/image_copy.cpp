// `docker-envs image copy SRC DEST [--compression gzip|zstd|none] [--platform P]`: converts
// between formats, keeping the config bytes (and so the image ID) as they are, and every platform
// of a multi-platform image unless --platform picks one.
#include "cli/common.hpp"
#include "cli/registry_ref.hpp"

namespace de::cli {
namespace {

struct CopyOptions {
  std::string source, destination;
  std::optional<std::string> compression;
  std::string platform;
};

Status run(const CopyOptions& o, const Globals& globals) {
  DE_TRY(check_destination(o.destination));
  auto options = DE_TRY(compression_options(o.compression));
  ProgressDisplay display(globals.progress);
  display.stage_start("copy",
                      fmt::format("{} to {}", shown_ref(o.source), shown_ref(o.destination)));
  auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Pick));
  DE_TRY(write_destinations(std::move(images), o.destination, options, globals,
                            /*stamp_created=*/false));
  display.stage_end("copy", "");
  return {};
}

}  // namespace

void add_image_copy(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<CopyOptions>();
  auto* sub = parent.add_subcommand(
      "copy",
      "Copy an image between formats (docker-archive, oci, oci-archive, registry), config "
      "unchanged; a multi-platform image whole unless --platform picks one");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to copy")->required();
  sub->add_option("DEST", options->destination, "Where to write it")->required();
  add_compression_option(sub, options->compression);
  add_platform_option(sub, options->platform, PlatformUse::Pick);
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
