// `docker-envs image copy SRC DEST [--compression gzip|zstd|none]`: converts between formats,
// keeping the config bytes (and so the image ID) as they are.
#include "cli/common.hpp"
#include "cli/registry_ref.hpp"

namespace de::cli {
namespace {

struct CopyOptions {
  std::string source, destination;
  std::string compression = "gzip";
};

Status run(const CopyOptions& o, const Globals& globals) {
  DE_TRY(check_destination(o.destination));
  Compression compression = DE_TRY(layer_compression(o.compression));
  ProgressDisplay display(globals.progress);
  display.stage_start("copy", fmt::format("{} to {}", shown_ref(o.source), shown_ref(o.destination)));
  auto image = DE_TRY(read_source(o.source));
  DE_TRY(write_destination(std::move(image), o.destination,
                           oci::WriteOptions{.compression = compression}, globals,
                           /*stamp_created=*/false));
  display.stage_end("copy", "");
  return {};
}

}  // namespace

void add_image_copy(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<CopyOptions>();
  auto* sub = parent.add_subcommand(
      "copy", "Copy an image between formats (docker-archive, oci, oci-archive), config unchanged");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to copy")->required();
  sub->add_option("DEST", options->destination, "Where to write it")->required();
  add_compression_option(sub, options->compression);
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
