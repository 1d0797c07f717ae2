// `docker-envs image pull [docker://]REF DEST [--platform P]`: fetches an image from a registry
// (verified, via the local blob cache) and writes it to DEST (docker-archive, oci, oci-archive); a
// multi-platform image whole (as an index) unless --platform picks one.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/registry_ref.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::cli {
namespace {

namespace fs = std::filesystem;

// An OCI layout destination on the cache's file system gets hard links to the cached layer blobs
// before the image is written: the layout writer finds them present and skips copying (halving the
// disk writes of a pull). Cached blobs are immutable (replaced only by rename), so sharing the
// inode is safe. Returns the directory it created (to remove if the write fails), or empty.
fs::path seed_layout(const oci::ImageRef& dest, const oci::Image& image, const fs::path& cache,
                     bool keep_blobs) {
  bool dir = dest.transport == oci::Transport::OciLayout ||
             (dest.transport == oci::Transport::Auto && !dest.path.ends_with(".tar"));
  if (!dir || cache.empty() || !keep_blobs) return {};
  fs::path root(dest.path);
  std::error_code ec;
  fs::path created;
  if (!fs::exists(root, ec)) {
    fs::create_directories(root / "blobs" / "sha256", ec);
    if (ec) return {};
    created = root;
    auto st = write_file_atomic(root / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    if (st)
      st = write_file_atomic(
          root / "index.json",
          R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})");
    if (!st) {
      fs::remove_all(root, ec);
      return {};
    }
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

// The platform --platform names, or every platform of a multi-platform image (a docker-archive
// DEST, which holds one image, is refused before anything is downloaded).
Result<std::vector<registry::PullResult>> pull_all(const PullCommand& o,
                                                   const registry::Reference& ref,
                                                   const registry::RegistryOptions& options,
                                                   std::optional<registry::IndexPlatforms>& index) {
  if (o.flags.platform.empty()) index = DE_TRY(registry::index_platforms(ref, options));
  if (index) {
    if (index->platforms.size() > 1 && !destination_holds_index(o.destination)) {
      std::vector<std::string> names;
      for (auto& p : index->platforms) names.push_back(p.to_string());
      return fail(Code::InvalidArgument,
                  "{} is a multi-platform image ({}), which a docker-archive cannot hold: pick one "
                  "with --platform, or write oci:DIR or oci-archive:PATH",
                  ref.familiar(), fmt::join(names, ", "));
    }
    return pull_platforms(ref, options, *index, /*fetch_layers=*/true);
  }
  registry::PullOptions pull;
  if (!o.flags.platform.empty())
    pull.platform = DE_TRY_CTX(oci::Platform::parse(o.flags.platform), "--platform");
  std::vector<registry::PullResult> out;
  out.push_back(DE_TRY(registry::pull_image(ref, options, pull)));
  return out;
}

Status run(const PullCommand& o, const Globals& globals) {
  auto dest = DE_TRY(parse_ref(o.destination, "destination"));
  if (dest.transport == oci::Transport::Scratch)
    return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source",
                o.destination);
  auto ref = DE_TRY(parse_registry_ref(o.reference));
  auto options = DE_TRY(registry_options(o.flags));
  oci::WriteOptions write = DE_TRY(compression_options(o.compression));
  std::optional<registry::IndexPlatforms> index;
  auto pulled = DE_TRY(pull_all(o, ref, options, index));

  SourceImages set{.source = shown_ref(o.reference), .index = index.has_value()};
  nlohmann::json manifests = nlohmann::json::array();
  std::uint64_t downloaded = 0, cached = 0;
  fs::path created;
  for (auto& p : pulled) {
    log::info("pulled {} {}(manifest {}, {} bytes downloaded, {} from cache)", ref.familiar(),
              index ? p.image.config.platform().to_string() + " " : "",
              p.manifest_digest.to_string(), p.bytes_downloaded, p.bytes_cached);
    fs::path seeded = seed_layout(dest, p.image, options.cache_dir, blobs_kept(p.image, write));
    if (created.empty()) created = seeded;
    manifests.push_back(p.manifest_digest.to_string());
    downloaded += p.bytes_downloaded;
    cached += p.bytes_cached;
    set.selected.push_back(set.images.size());
    set.platforms.push_back(p.image.config.platform());
    set.images.push_back(std::move(p.image));
  }
  if (index) set.platforms = index->platforms;
  auto written = write_destinations(std::move(set), o.destination, write, globals,
                                    /*stamp_created=*/false);
  if (!written) {
    std::error_code ec;
    if (!created.empty()) fs::remove_all(created, ec);
    return written;
  }
  if (o.flags.json) {
    const auto& first = pulled.front();
    nlohmann::json j = {
        {"reference", ref.to_string()},
        {"manifest_digest", index ? index->digest.to_string() : first.manifest_digest.to_string()},
        {"media_type", index ? std::string(oci::media_type::kOciIndex) : first.manifest_media_type},
        {"bytes_downloaded", downloaded},
        {"bytes_cached", cached}};
    if (index) j["manifests"] = manifests;
    if (index)
      j["index_digest"] = index->digest.to_string();
    else if (first.index_digest)
      j["index_digest"] = first.index_digest->to_string();
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
