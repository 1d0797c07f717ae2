// Multi-platform images in the image commands: reading a whole index (or the platform --platform
// picks) and writing it back as an index where the destination can hold one.
#include "cli/common.hpp"
#include "cli/registry_ref.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {
namespace {

Result<oci::Platform> parse_platform(std::string_view text) {
  return DE_TRY_CTX(oci::Platform::parse(text), std::string("--platform"));
}

Status write_index(const SourceImages& set, std::string_view text, const oci::ImageRef& ref,
                   const oci::WriteOptions& options) {
  if (is_registry_ref(text)) {
    auto pushed = DE_TRY_CTX(write_registry_index(set.images, text, RegistryFlags{},
                                                  {.compression = options.compression,
                                                   .keep_compressed = options.keep_compressed,
                                                   .source_index = options.source_index}),
                             fmt::format("pushing {}", shown_ref(text)));
    log::info("pushed {} ({} platforms: {}; index {})", shown_ref(text), set.images.size(),
              set.platform_list(), pushed.manifest_digest.to_string());
    return {};
  }
  auto written = DE_TRY_CTX(oci::write_image_index(set.images, ref, options),
                            fmt::format("writing {}", shown_ref(text)));
  log::info("wrote {} ({} platforms: {}; index {})", shown_ref(text), set.images.size(),
            set.platform_list(), written.manifest_digest.to_string());
  return {};
}

}  // namespace

bool destination_holds_index(std::string_view text) {
  if (is_registry_ref(text)) return true;
  auto ref = oci::ImageRef::parse(text);
  if (!ref) return false;
  switch (ref->transport) {
    case oci::Transport::OciLayout:
    case oci::Transport::OciArchive:
      return true;
    case oci::Transport::Auto:
      return !ref->path.ends_with(".tar");
    default:
      return false;
  }
}

std::string SourceImages::platform_list() const {
  std::vector<std::string> names;
  for (auto& p : platforms) names.push_back(p.to_string());
  return fmt::format("{}", fmt::join(names, ", "));
}

namespace {

// Narrows `all` (every image of a source) to what --platform (`want`) asks for.
Result<SourceImages> pick_platform(SourceImages all, const std::optional<oci::Platform>& want,
                                   PlatformUse use) {
  all.picked = want.has_value();
  all.selected.clear();
  if (!want) {
    for (std::size_t i = 0; i < all.images.size(); ++i) all.selected.push_back(i);
    return all;
  }
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < all.platforms.size() && !found; ++i)
    if (all.platforms[i].satisfies(*want)) found = i;
  if (!found) {
    if (!all.index)
      return fail(Code::NotFound, "{} is an image for {}, not {} (--platform)", all.source,
                  all.platforms.at(0).to_string(), want->to_string());
    return fail(Code::NotFound, "{} has no image for platform {} (it has: {})", all.source,
                want->to_string(), all.platform_list());
  }
  if (use == PlatformUse::Edit) {
    all.selected = {*found};
    return all;
  }
  return SourceImages{.source = all.source,
                      .images = {std::move(all.images[*found])},
                      .platforms = {all.platforms[*found]},
                      .selected = {0},
                      .picked = true};
}

}  // namespace

Result<SourceImages> read_sources(std::string_view text, std::string_view platform,
                                  PlatformUse use) {
  std::optional<oci::Platform> want;
  if (!platform.empty()) want = DE_TRY(parse_platform(platform));
  if (is_registry_ref(text))
    return pick_platform(DE_TRY(read_registry_sources(text, RegistryFlags{})), want, use);
  SourceImages out{.source = shown_ref(text)};
  auto ref = DE_TRY(parse_ref(text, "source"));
  auto set = DE_TRY_CTX(oci::read_image_set(ref), fmt::format("reading {}", out.source));
  out.images = std::move(set.images);
  out.platforms = std::move(set.platforms);
  out.index = set.index;
  out.source_index = std::move(set.source_index);
  return pick_platform(std::move(out), want, use);
}

Status write_destinations(SourceImages set, std::string_view text, const oci::WriteOptions& options,
                          const Globals& globals, bool stamp_created) {
  if (!set.index) {
    return write_destination(std::move(set.images.at(0)), text, options, globals, stamp_created);
  }
  oci::ImageRef ref;
  if (!is_registry_ref(text)) ref = DE_TRY(parse_ref(text, "destination"));
  if (!destination_holds_index(text)) {
    // One image only: the one --platform picked, or the index's only one.
    if (set.picked || set.images.size() == 1) {
      std::size_t i = set.selected.at(0);
      return write_destination(std::move(set.images[i]), text, options, globals, stamp_created);
    }
    return fail(Code::InvalidArgument,
                "{} is a multi-platform image ({}), which a docker-archive cannot hold: pick one "
                "with --platform, or write oci:DIR, oci-archive:PATH or docker://REF",
                set.source, set.platform_list());
  }
  if (stamp_created && globals.source_date_epoch)
    for (std::size_t i : set.selected) oci::set_created(set.images[i], created_time(globals));
  oci::WriteOptions with_index = options;
  with_index.source_index = set.source_index;
  return write_index(set, text, ref, with_index);
}

void add_platform_option(CLI::App* sub, std::string& target, PlatformUse use) {
  sub->add_option("--platform", target,
                  use == PlatformUse::Edit
                      ? "Edit only this platform's image of a multi-platform SRC (the others are "
                        "written unchanged; a docker-archive DEST gets the edited one alone); "
                        "default: every platform's"
                      : "Pick this platform's image of a multi-platform SRC; default: all of them")
      ->type_name("OS/ARCH[/VARIANT]");
}

}  // namespace de::cli
