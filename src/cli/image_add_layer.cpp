// `docker-envs image add-layer SRC DEST (--dir HOST[:IMAGEPATH] | --file HOST:IMAGEPATH)...`:
// builds one deterministic layer from host files and writes SRC with it on top to DEST (on every
// platform of a multi-platform SRC, or on the one --platform names).
#include "cli/common.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {
namespace {

struct AddLayerOptions {
  std::string source, destination;
  std::vector<std::string> dirs, files, excludes;
  std::optional<std::string> compression;
  std::string created_by;
  std::string platform;
};

struct Mapping {
  std::string host;
  std::string image_path;
};

// Splits HOST:IMAGEPATH at the last ':' that is followed by an absolute path, so that host paths
// containing ':' still work. Without one, the image path is `fallback` (or an error when empty).
Result<Mapping> split_mapping(std::string_view spec, std::string_view option,
                              std::string_view fallback) {
  for (size_t colon = spec.rfind(':'); colon != std::string_view::npos;
       colon = colon == 0 ? std::string_view::npos : spec.rfind(':', colon - 1)) {
    std::string_view image_path = spec.substr(colon + 1);
    if (colon > 0 && image_path.starts_with('/'))
      return Mapping{std::string(spec.substr(0, colon)), std::string(image_path)};
  }
  if (fallback.empty())
    return fail(Code::InvalidArgument,
                "{} '{}': expected HOST:IMAGEPATH with an absolute IMAGEPATH", option, spec);
  if (spec.empty()) return fail(Code::InvalidArgument, "{}: empty host path", option);
  return Mapping{std::string(spec), std::string(fallback)};
}

Status run(const AddLayerOptions& o, const Globals& globals) {
  std::vector<Mapping> dirs, files;
  for (auto& d : o.dirs) dirs.push_back(DE_TRY(split_mapping(d, "--dir", "/")));
  for (auto& f : o.files) files.push_back(DE_TRY(split_mapping(f, "--file", "")));
  // Fail on a bad destination or option before doing any work.
  DE_TRY(check_destination(o.destination));
  auto write_options = DE_TRY(compression_options(o.compression));

  auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Edit));

  oci::LayerBuilder builder(oci::LayerBuildOptions{
      .excludes = o.excludes,
      .source_date_epoch = globals.source_date_epoch,
  });
  std::string described;
  for (auto& d : dirs) {
    DE_TRY_CTX(builder.add_directory(d.host, d.image_path),
               fmt::format("adding directory {} as {}", d.host, d.image_path));
    described += (described.empty() ? " " : ", ") + d.image_path;
  }
  for (auto& f : files) {
    DE_TRY_CTX(builder.add_file(f.host, f.image_path),
               fmt::format("adding file {} as {}", f.host, f.image_path));
    described += (described.empty() ? " " : ", ") + f.image_path;
  }
  auto layer = DE_TRY_CTX(std::move(builder).build(), std::string("building the layer"));

  // Only image paths go into the history: host paths (often temp dirs) would make the config,
  // and so the image digest, differ between otherwise identical builds.
  oci::HistoryEntry history{
      .created = created_time(globals),
      .created_by =
          o.created_by.empty() ? "docker-envs image add-layer:" + described : o.created_by,
  };
  // One layer, shared by every platform it is added to (host files are the same for each).
  DE_TRY(images.edit([&](oci::Image image) -> Result<oci::Image> {
    return oci::append_layer(std::move(image), layer, history);
  }));
  return write_destinations(std::move(images), o.destination, write_options, globals,
                            /*stamp_created=*/true);
}

}  // namespace

void add_image_add_layer(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<AddLayerOptions>();
  auto* sub = parent.add_subcommand(
      "add-layer",
      "Add one layer built from host directories and files (sorted entries, uid/gid 0, mtimes "
      "clamped to SOURCE_DATE_EPOCH when set) and write the result to DEST");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to start from (`scratch` for an empty image)")
      ->required();
  sub->add_option("DEST", options->destination,
                  "Where to write: docker-archive:PATH[:NAME:TAG], oci:DIR[:TAG], "
                  "oci-archive:PATH[:TAG]")
      ->required();
  auto* dir = sub->add_option("--dir", options->dirs,
                              "Add a host directory's contents at IMAGEPATH (default /); "
                              "repeatable")
                  ->type_name("HOST[:IMAGEPATH]");
  auto* file =
      sub->add_option("--file", options->files, "Add one host file at IMAGEPATH; repeatable")
          ->type_name("HOST:IMAGEPATH");
  sub->add_option("--exclude", options->excludes,
                  "Skip paths matching GLOB (e.g. '*.a', '__pycache__'); repeatable")
      ->type_name("GLOB");
  add_compression_option(sub, options->compression);
  add_platform_option(sub, options->platform, PlatformUse::Edit);
  sub->add_option("--created-by", options->created_by, "Text for the layer's history entry");
  // At least one of --dir/--file: a usage error (exit 2) when neither is given.
  sub->callback([&commands, options, dir, file] {
    if (dir->count() == 0 && file->count() == 0)
      throw CLI::ValidationError("--dir/--file", "at least one is required");
    commands.action = [options](const Globals& globals) { return run(*options, globals); };
  });
}

}  // namespace de::cli
