// `docker-envs image inspect SRC`: the image's manifest, config and layers as JSON on stdout.
//
// The manifest is derived from what the source stores: the config bytes as stored (so the config
// digest is the source's) and each layer's stored blob descriptor. For sources that hold a
// manifest (OCI layouts, Docker 25+ archives) with canonical field order this is the stored
// manifest; docker-archive has none, and the derived one is what a registry push would send.
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::cli {
namespace {

using Json = nlohmann::json;

struct InspectOptions {
  std::string source;
};

Result<Json> inspect(const oci::Image& image) {
  namespace mt = oci::media_type;
  bool docker = mt::is_docker(image.source_manifest_media_type);
  std::string config_bytes = image.config_bytes();

  oci::Manifest manifest;
  manifest.media_type = docker ? std::string(mt::kDockerManifest) : std::string(mt::kOciManifest);
  manifest.config.media_type = docker ? std::string(mt::kDockerConfig) : std::string(mt::kOciConfig);
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
    if (blob) manifest.layers.push_back(*blob);
    else complete = false;
  }

  Json out = Json::object();
  if (complete) {
    std::string manifest_bytes = manifest.to_json();
    out["manifest_digest"] = Digest::of(manifest_bytes).to_string();
    out["manifest"] = Json::parse(manifest_bytes);
  } else {
    out["manifest_digest"] = nullptr;
    out["manifest"] = nullptr;
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

void add_image_inspect(CLI::App& parent, Registry& registry) {
  auto options = std::make_shared<InspectOptions>();
  auto* sub = parent.add_subcommand(
      "inspect",
      "Print the image's manifest digest, manifest, config and layers (digest, diff_id, size, "
      "media type) as JSON");
  sub->fallthrough();
  sub->add_option("SRC", options->source,
                  "Image: docker-archive:PATH[:NAME:TAG], oci:DIR[:TAG], oci-archive:PATH[:TAG], "
                  "scratch, or a path")
      ->required();
  on_run(sub, registry, options, [](const InspectOptions& o, const Globals&) -> Status {
    auto image = DE_TRY(read_source(o.source));
    auto json = DE_TRY_CTX(inspect(image), fmt::format("inspecting {}", o.source));
    std::string text = json.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    return {};
  });
}

}  // namespace de::cli
