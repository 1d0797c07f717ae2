// `docker-envs image pull [docker://]REF DEST [--platform P]`: fetches an image from a registry
// (verified, via the local blob cache) and writes it to DEST (docker-archive, oci, oci-archive): a
// multi-platform image whole unless --platform picks one. An OCI layout keeps the registry's
// manifest and index bytes (media types included), as crane and containerd do.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/cache_use.hpp"
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
    if (!make_dirs_below(root, "blobs/sha256")) return {};
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
  std::optional<std::string> compression;
  std::string format = "keep";
};

// Whether the pulled layers' blobs go into DEST as they are (and may be linked from the cache).
bool blobs_kept(const oci::Image& image, const oci::WriteOptions& write) {
  for (auto& layer : image.layers) {
    auto stored = layer->blob() ? oci::media_type::layer_compression(layer->blob()->media_type)
                                : std::nullopt;
    if (!stored) return false;
    if (*stored != write.compression && !(write.keep_compressed && *stored != Compression::None &&
                                          write.compression != Compression::None))
      return false;
  }
  return true;
}

// Writes the pulled image(s) to DEST: one image, or a whole index (kept byte for byte unless
// --format oci). A layout created here is removed again when the write fails.
Result<oci::WriteResult> write_pulled(std::vector<oci::Image> images, const oci::ImageRef& dest,
                                      const oci::WriteOptions& write, const fs::path& cache) {
  std::optional<NewDirectory> created;  // removed again unless the write succeeds
  for (auto& image : images) {
    auto made = seed_layout(dest, image, cache, blobs_kept(image, write));
    if (!created) created = std::move(made);
  }
  auto written = images.size() == 1 && !write.source_index
                     ? oci::write_image(images[0], dest, write)
                     : oci::write_image_index(images, dest, write);
  if (written && created) created->keep();
  return DE_TRY_CTX(std::move(written), "writing " + shown_ref(dest.to_string()));
}

// A docker-archive holds one image: without --platform, a multi-platform image is refused before
// anything is downloaded (naming its platforms), and an index of one image gives that image.
Status pick_single_platform(const registry::Reference& ref,
                            const registry::RegistryOptions& options, registry::PullOptions& pull) {
  auto index = DE_TRY(registry::index_platforms(ref, options));
  if (!index || index->platforms.empty()) return {};
  if (index->platforms.size() > 1) {
    std::vector<std::string> names;
    for (auto& p : index->platforms) names.push_back(p.to_string());
    return fail(Code::InvalidArgument,
                "{} is a multi-platform image ({}), which a docker-archive cannot hold: pick one "
                "with --platform, or write oci:DIR or oci-archive:PATH",
                ref.familiar(), fmt::join(names, ", "));
  }
  pull.platform = index->platforms.front();
  return {};
}

Status run(const PullCommand& o, const Globals& globals) {
  auto dest = DE_TRY(parse_ref(o.destination, "destination"));
  if (dest.transport == oci::Transport::Scratch)
    return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source",
                o.destination);
  auto ref = DE_TRY(parse_registry_ref(o.reference));
  ProgressDisplay display(globals.progress);
  auto options = DE_TRY(registry_options(o.flags, display.reporter(), "pull", "downloaded"));
  // Held until the image is written: `cache prune` keeps the blobs this pull uses.
  std::optional<CacheLease> lease;
  if (!options.cache_dir.empty())
    if (auto taken = CacheLease::acquire(options.cache_dir)) lease = std::move(*taken);
  registry::PullOptions pull;
  if (!o.flags.platform.empty())
    pull.platform = DE_TRY_CTX(oci::Platform::parse(o.flags.platform), "--platform");
  oci::WriteOptions write = DE_TRY(compression_options(o.compression));
  write.keep_source_manifests = o.format != "oci";
  display.stage_start("pull", ref.familiar());
  // An OCI layout gets the whole image (every platform of an index, the index kept) unless
  // --platform picks one; a docker-archive holds one image.
  bool whole = destination_holds_index(o.destination) && !pull.platform;
  if (!whole && !pull.platform) DE_TRY(pick_single_platform(ref, options, pull));
  registry::PullAllResult pulled;
  if (whole) {
    pulled = DE_TRY(registry::pull_all(ref, options, pull));
  } else {
    auto one = DE_TRY(registry::pull_image(ref, options, pull));
    pulled.bytes_downloaded = one.bytes_downloaded;
    pulled.bytes_cached = one.bytes_cached;
    pulled.index_digest = one.index_digest;
    pulled.images.push_back(std::move(one));
  }
  display.stage_end("pull", fmt::format("{} image(s): {} downloaded, {} from the cache",
                                        pulled.images.size(),
                                        progress::human_bytes(pulled.bytes_downloaded),
                                        progress::human_bytes(pulled.bytes_cached)));
  write.source_index = pulled.index;
  std::vector<oci::Image> images;
  nlohmann::json manifests = nlohmann::json::array();
  for (auto& image : pulled.images) {
    manifests.push_back({{"platform", image.image.config.platform().to_string()},
                         {"manifest_digest", image.manifest_digest.to_string()},
                         {"media_type", image.manifest_media_type}});
    images.push_back(std::move(image.image));
  }
  auto written = DE_TRY(write_pulled(std::move(images), dest, write, options.cache_dir));
  log::info("pulled {} into {} ({} {}, {} bytes downloaded, {} from cache)", ref.familiar(),
            shown_ref(o.destination), pulled.index ? "index" : "manifest",
            written.manifest_digest.to_string(), pulled.bytes_downloaded, pulled.bytes_cached);
  if (o.flags.json) {
    nlohmann::json j = {{"reference", ref.to_string()},
                        {"manifest_digest", written.manifest_digest.to_string()},
                        {"media_type", pulled.index ? nlohmann::json(pulled.index->media_type)
                                                    : manifests[0]["media_type"]},
                        {"images", manifests},
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
  sub->add_option("--format", options->format,
                  "keep: the registry's manifest (and index) bytes and media types, Docker's "
                  "included, so digests stay the same; oci: converted to OCI media types")
      ->check(CLI::IsMember({"keep", "oci"}))
      ->capture_default_str();
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
