#include "docker_envs/oci/image_parts.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "oci/archive_writer.hpp"
#include "oci/docker_archive.hpp"

namespace de::oci {
namespace {

using Json = nlohmann::json;

// "name" -> "name:latest"; "host:5000/name" -> "host:5000/name:latest".
std::string with_tag(std::string_view name) {
  std::string n(name);
  auto slash = n.rfind('/');
  auto colon = n.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) n += ":latest";
  return n;
}

// Old engines address layers by a v1 id; derive one per layer from the chain of diffIDs so that
// the same image always gets the same ids.
std::string v1_id(const std::string& parent, const Digest& diff_id) {
  return Digest::of(parent + "\n" + diff_id.to_string()).hex();
}

}  // namespace

Result<WriteResult> write_docker_archive(const Image& image, const std::filesystem::path& path,
                                         std::string_view name_tag) {
  std::vector<std::string> tags;
  if (!name_tag.empty()) tags.push_back(with_tag(name_tag));
  else
    for (auto& n : image.names) tags.push_back(with_tag(n));

  auto archive = DE_TRY(ArchiveWriter::create(path));
  ProduceOptions produce{.compression = Compression::None,
                         .keep_compressed = false,
                         .docker_media_types = true};
  std::vector<LayerBlob> layers;
  std::vector<std::string> ids;
  std::string parent;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    static constexpr size_t kNameLength = 64 + std::string_view("/layer.tar").size();
    Writer* out = DE_TRY(archive->begin_streamed(kNameLength));
    LayerBlob produced = DE_TRY_CTX(produce_layer(*image.layers[i], produce, *out),
                                        fmt::format("writing layer {}", i));
    std::string id = v1_id(parent, produced.diff_id);
    DE_TRY(archive->end_streamed(id + "/layer.tar"));
    DE_TRY(archive->add_file(id + "/VERSION", "1.0"));
    Json v1 = {{"id", id}, {"created", "1970-01-01T00:00:00Z"}};
    if (!parent.empty()) v1["parent"] = parent;
    DE_TRY(archive->add_file(id + "/json", v1.dump()));
    layers.push_back(produced);
    ids.push_back(id);
    parent = id;
  }

  std::string config = final_config(image, layers);
  Digest config_digest = Digest::of(config);
  std::string config_name = config_digest.hex() + ".json";
  DE_TRY(archive->add_file(config_name, config));

  Json entry = {{"Config", config_name}, {"RepoTags", tags.empty() ? Json(nullptr) : Json(tags)}};
  Json layer_paths = Json::array();
  for (auto& id : ids) layer_paths.push_back(id + "/layer.tar");
  entry["Layers"] = layer_paths;
  DE_TRY(archive->add_file("manifest.json", Json::array({entry}).dump()));

  if (!tags.empty() && !ids.empty()) {
    Json repositories = Json::object();
    for (auto& t : tags) {
      auto colon = t.rfind(':');
      repositories[t.substr(0, colon)][t.substr(colon + 1)] = ids.back();
    }
    DE_TRY(archive->add_file("repositories", repositories.dump()));
  }
  DE_TRY(archive->commit());

  // A docker-archive has no registry manifest; report the Docker schema 2 manifest that describes
  // exactly these (uncompressed) layers, as a registry would receive it from `docker push` of
  // uncompressed layers.
  Descriptor config_desc{.media_type = std::string(media_type::kDockerConfig),
                         .digest = config_digest,
                         .size = static_cast<std::int64_t>(config.size())};
  Manifest m = oci_manifest(image, config_desc, layers);
  m.media_type = media_type::kDockerManifest;
  m.annotations.clear();
  WriteResult result{.manifest_digest = Digest::of(m.to_json()), .config_digest = config_digest};
  result.manifests = {result.manifest_digest};
  for (auto& l : layers) result.layers.push_back(l.blob);
  return result;
}

}  // namespace de::oci
