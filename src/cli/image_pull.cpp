// `docker-envs image pull [docker://]REF DEST`: fetches an image from a registry (verified, via the
// local blob cache) and writes it to DEST (docker-archive, oci, oci-archive).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::cli {
namespace {

namespace fs = std::filesystem;

// An OCI layout destination on the cache's file system gets hard links to the cached layer blobs
// before the image is written: the layout writer finds them present and skips copying (halving the
// disk writes of a pull). Cached blobs are immutable (replaced only by rename), so sharing the
// inode is safe. Returns the directory it created (removed unless kept), or nothing.
std::optional<NewDirectory> seed_layout(const oci::ImageRef& dest, const oci::Image& image,
                                        const fs::path& cache, bool keep_blobs) {
  bool dir = dest.transport == oci::Transport::OciLayout ||
             (dest.transport == oci::Transport::Auto && !dest.path.ends_with(".tar"));
  if (!dir || cache.empty() || !keep_blobs) return {};
  fs::path root(dest.path);
  std::error_code ec;
  std::optional<NewDirectory> created;
  if (!fs::exists(root, ec)) {
    auto made = NewDirectory::create(root);
    if (!made) return {};
    fs::create_directories(root / "blobs" / "sha256", ec);
    if (ec) return {};
    auto st = write_file_atomic(root / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    if (st)
      st = write_file_atomic(
          root / "index.json",
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    if (!st) return {};
    created = std::move(*made);
  } else if (!fs::exists(root / "index.json", ec) ||
             !fs::is_directory(root / "blobs" / "sha256", ec)) {
    return {};
  }
  for (auto& layer : image.layers) {
    auto blob = layer->blob();
    if (!blob) continue;
    fs::path target = root / "blobs" / "sha256" / blob->digest.hex();
    if (fs::exists(target, ec)) continue;
    fs::create_hard_link(cache / "blobs" / "sha256" / blob->digest.hex(), target, ec);
    if (ec) break;  // another file system: the writer copies
  }
  return created;
}

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
  bool keep_blobs = true;
  for (auto& layer : pulled.image.layers) {
    auto stored = layer->blob() ? oci::media_type::layer_compression(layer->blob()->media_type)
                                : std::nullopt;
    keep_blobs = keep_blobs && stored &&
                 (*stored == write.compression ||
                  (*stored != Compression::None && write.compression != Compression::None));
  }
  auto created = seed_layout(dest, pulled.image, options.cache_dir, keep_blobs);
  DE_TRY(write_destination(std::move(pulled.image), o.destination, write, globals,
                           /*stamp_created=*/false));
  if (created) created->keep();
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

void add_image_pull(CLI::App& parent, CommandTable& commands) {
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
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
