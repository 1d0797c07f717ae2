// `docker-envs image inspect SRC [--platform P]`: the image's manifest, config and layers as JSON
// on stdout; for a multi-platform image without --platform, {"platforms": [each image's, with
// "platform"], "note"}.
//
// The manifest is the one the source stores when it has one (OCI layouts, oci-archives, Docker
// 25+ archives): found among the source's blobs as the manifest naming this config and these
// layer blobs, and reported with the digest of its stored bytes ("manifest_source": "stored").
// Sources without one (classic docker-archives) get the manifest derived from the config bytes as
// stored and each layer's stored blob descriptor, which is what a registry push would send
// ("manifest_source": "derived").
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/registry_ref.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/oci/tar.hpp"

namespace de::cli {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct InspectOptions {
  std::string source;
  std::string platform;
};

// Manifests are small; anything bigger is a layer and is not looked at.
constexpr std::uint64_t kMaxManifestSize = 4 << 20;

// What identifies the image's manifest among a source's blobs.
struct ManifestKey {
  Digest config;
  std::vector<Digest> layers;  // stored blob digests, bottom first
};

// "blobs/sha256/<hex>" -> the digest its name states.
std::optional<Digest> blob_name_digest(std::string_view path) {
  constexpr std::string_view kPrefix = "blobs/sha256/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  auto digest = Digest::from_hex(path.substr(kPrefix.size()));
  return digest ? std::optional(*digest) : std::nullopt;
}

// True when `bytes` (the blob named `name`) is a manifest for `key`.
bool is_manifest_of(std::string_view bytes, const Digest& name, const ManifestKey& key) {
  auto manifest = oci::Manifest::parse(bytes);
  if (!manifest || manifest->config.digest != key.config ||
      manifest->layers.size() != key.layers.size())
    return false;
  for (size_t i = 0; i < key.layers.size(); ++i)
    if (manifest->layers[i].digest != key.layers[i]) return false;
  return Digest::of(bytes) == name;
}

Result<std::optional<std::string>> find_in_directory(const fs::path& dir, const ManifestKey& key) {
  std::error_code ec;
  fs::path blobs = dir / "blobs" / "sha256";
  if (!fs::is_directory(blobs, ec)) return std::nullopt;
  std::vector<fs::path> files;
  for (auto& entry : fs::directory_iterator(blobs, ec))
    if (entry.is_regular_file(ec) && entry.file_size(ec) <= kMaxManifestSize)
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (auto& file : files) {
    auto name = blob_name_digest("blobs/sha256/" + file.filename().string());
    if (!name) continue;
    std::string bytes = DE_TRY(read_file(file, kMaxManifestSize));
    if (is_manifest_of(bytes, *name, key)) return bytes;
  }
  return std::nullopt;
}

Result<std::optional<std::string>> find_in_tar(const fs::path& path, const ManifestKey& key) {
  auto file = DE_TRY(FileReader::open(path));
  oci::TarReader tar(*file);
  while (auto entry = DE_TRY(tar.next())) {
    if (entry->type != oci::EntryType::File || entry->size > kMaxManifestSize) continue;
    auto name = blob_name_digest(entry->path);
    if (!name) continue;
    std::string bytes(entry->size, '\0');
    size_t have = 0;
    while (have < bytes.size()) {
      size_t n = DE_TRY(tar.read_data(std::as_writable_bytes(std::span(bytes)).subspan(have)));
      if (n == 0) break;
      have += n;
    }
    bytes.resize(have);
    if (is_manifest_of(bytes, *name, key)) return bytes;
  }
  return std::nullopt;
}

// The manifest `source` stores for `image`, if it stores one.
std::optional<std::string> stored_manifest(const oci::ImageRef& ref, const ManifestKey& key) {
  if (ref.transport == oci::Transport::Scratch) return std::nullopt;
  std::error_code ec;
  bool directory = ref.transport == oci::Transport::OciLayout ||
                   (ref.transport == oci::Transport::Auto && fs::is_directory(ref.path, ec));
  auto found = directory ? find_in_directory(ref.path, key) : find_in_tar(ref.path, key);
  if (!found) {
    // The image itself was read fine; a source we cannot scan (a compressed tar) just has no
    // stored manifest to show.
    log::debug("looking for the stored manifest in {}: {}", ref.path, found.error().to_string());
    return std::nullopt;
  }
  return *found;
}

Result<Json> inspect(const oci::Image& image, const oci::ImageRef& ref) {
  namespace mt = oci::media_type;
  bool docker = mt::is_docker(image.source_manifest_media_type);
  std::string config_bytes = image.config_bytes();

  oci::Manifest manifest;
  manifest.media_type = docker ? std::string(mt::kDockerManifest) : std::string(mt::kOciManifest);
  manifest.config.media_type =
      docker ? std::string(mt::kDockerConfig) : std::string(mt::kOciConfig);
  manifest.config.digest = Digest::of(config_bytes);
  manifest.config.size = static_cast<std::int64_t>(config_bytes.size());
  manifest.annotations = image.annotations;
  bool complete = true;  // every layer has a stored blob

  auto diff_ids = image.config.diff_ids().value_or(std::vector<Digest>{});
  Json layers = Json::array();
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const auto& layer = image.layers[i];
    auto blob = layer->blob();
    std::optional<Digest> diff_id = layer->diff_id();
    if (!diff_id && i < diff_ids.size()) diff_id = diff_ids[i];
    Json entry = {
        {"digest", blob ? Json(blob->digest.to_string()) : Json(nullptr)},
        {"diff_id", diff_id ? Json(diff_id->to_string()) : Json(nullptr)},
        {"size", blob ? Json(blob->size) : Json(nullptr)},
        {"media_type", blob ? Json(blob->media_type) : Json(nullptr)},
    };
    layers.push_back(std::move(entry));
    if (blob)
      manifest.layers.push_back(*blob);
    else
      complete = false;
  }

  Json out = Json::object();
  std::optional<std::string> stored;
  if (complete) {
    ManifestKey key{.config = manifest.config.digest};
    for (auto& l : manifest.layers) key.layers.push_back(l.digest);
    if (auto source = image.source_manifest_bytes())
      stored = std::string(*source);
    else
      stored = stored_manifest(ref, key);
  }
  std::optional<std::string> manifest_bytes = stored;
  if (!manifest_bytes && complete) manifest_bytes = manifest.to_json();
  if (manifest_bytes) {
    out["manifest_digest"] = Digest::of(*manifest_bytes).to_string();
    out["manifest"] = Json::parse(*manifest_bytes);
    out["manifest_source"] = stored ? "stored" : "derived";
  } else {  // layers not written anywhere yet: there is no manifest
    out["manifest_digest"] = nullptr;
    out["manifest"] = nullptr;
    out["manifest_source"] = nullptr;
  }
  out["config_digest"] = manifest.config.digest.to_string();
  Json config = Json::parse(config_bytes, nullptr, false);
  if (config.is_discarded()) return fail(Code::Corruption, "the image config is not valid JSON");
  out["config"] = std::move(config);
  out["layers"] = std::move(layers);
  out["names"] = image.names;
  return out;
}

}  // namespace

void add_image_inspect(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<InspectOptions>();
  auto* sub = parent.add_subcommand(
      "inspect",
      "Print the image's manifest digest, manifest, config and layers (digest, diff_id, size, "
      "media type) as JSON; a multi-platform image's under \"platforms\" unless --platform "
      "picks one");
  sub->fallthrough();
  sub->add_option("SRC", options->source,
                  "Image: docker-archive:PATH[:NAME:TAG], oci:DIR[:TAG], oci-archive:PATH[:TAG], "
                  "scratch, or a path")
      ->required();
  add_platform_option(sub, options->platform, PlatformUse::Pick);
  on_run(sub, commands, options, [](const InspectOptions& o, const Globals&) -> Status {
    // A registry image carries the manifest the registry served; others are read by transport.
    auto ref = is_registry_ref(o.source) ? oci::ImageRef{.transport = oci::Transport::Scratch}
                                         : DE_TRY(parse_ref(o.source, "source"));
    auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Pick));
    Json json;
    if (images.images.size() == 1) {
      json = DE_TRY_CTX(inspect(images.images[0], ref), fmt::format("inspecting {}", o.source));
    } else {
      // A multi-platform image: each platform's image, and how to pick one.
      json = {{"platforms", Json::array()},
              {"note", fmt::format("a multi-platform image; --platform OS/ARCH[/VARIANT] "
                                   "inspects one ({})",
                                   images.platform_list())}};
      for (size_t i = 0; i < images.images.size(); ++i) {
        Json one = DE_TRY_CTX(
            inspect(images.images[i], ref),
            fmt::format("inspecting {} ({})", o.source, images.platforms[i].to_string()));
        one["platform"] = images.platforms[i].to_string();
        json["platforms"].push_back(std::move(one));
      }
    }
    std::string text = json.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    return {};
  });
}

}  // namespace de::cli
