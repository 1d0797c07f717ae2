// `docker-envs image ls SRC [--layer N] [--long]`: the merged filesystem (whiteouts and opaque
// directories applied) or one layer's entries, one path per line; --long is like `tar -tv`. A
// multi-platform image needs --platform.
#include <cstdio>

#include "cli/common.hpp"
#include "docker_envs/oci/filesystem.hpp"

namespace de::cli {
namespace {

struct LsOptions {
  std::string source;
  std::optional<std::size_t> layer;
  bool long_format = false;
  std::string platform;
};

// One line per entry: the path as `tar -t` prints it (escaped; directories end in '/'), or the
// long form.
std::string format_entry(const oci::TarEntry& entry, bool long_format) {
  if (long_format) return oci::format_long(entry);
  std::string line = oci::escape_path(entry.path);
  if (entry.type == oci::EntryType::Directory) line += '/';
  return line;
}

Status run(const LsOptions& o, const Globals&) {
  auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Pick));
  if (images.images.size() > 1)
    return fail(Code::InvalidArgument,
                "{} is a multi-platform image ({}): pick the one to list with --platform",
                images.source, images.platform_list());
  const oci::Image& image = images.images[0];
  std::vector<oci::TarEntry> entries;
  if (o.layer) {
    if (*o.layer >= image.layers.size()) {
      if (image.layers.empty())
        return fail(Code::InvalidArgument, "--layer {}: {} has no layers", *o.layer, o.source);
      return fail(Code::InvalidArgument, "--layer {} is out of range (valid: 0-{}, 0 = bottom)",
                  *o.layer, image.layers.size() - 1);
    }
    const auto& layer = *image.layers[*o.layer];
    entries = DE_TRY_CTX(oci::list_layer(layer), fmt::format("listing layer {} ({}) of {}",
                                                             *o.layer, layer.describe(), o.source));
  } else {
    entries = DE_TRY_CTX(oci::merged_filesystem(image.layers),
                         fmt::format("listing the filesystem of {}", o.source));
  }
  std::string out;
  for (const auto& entry : entries) {
    if (entry.path.empty()) continue;  // the root itself
    out += format_entry(entry, o.long_format);
    out += '\n';
    if (out.size() >= (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return {};
}

}  // namespace

void add_image_ls(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<LsOptions>();
  auto* sub = parent.add_subcommand(
      "ls", "List the image's merged filesystem (default) or one layer, one path per line");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to list")->required();
  sub->add_option("--layer", options->layer,
                  "List only layer N (0 = bottom) as stored, whiteouts "
                  "included")
      ->check(non_negative("layers are counted from 0 (the bottom)"));
  sub->add_flag("-l,--long", options->long_format, "Long listing like `tar -tv`");
  add_platform_option(sub, options->platform, PlatformUse::Pick);
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
