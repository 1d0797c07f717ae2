#include "docker_envs/oci/manifest.hpp"

#include "docker_envs/oci/media_types.hpp"

namespace de::oci {
namespace {

using nlohmann::json;

Result<json> parse_json(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(Code::Corruption, "{} is not valid JSON", what);
  if (!j.is_object())
    return fail(Code::Corruption, "{} is not a JSON object (found {})", what, j.type_name());
  return j;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<std::map<std::string, std::string>> string_map(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return fail(Code::Corruption, "'{}' must be an object", key);
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return fail(Code::Corruption, "'{}.{}' must be a string", key, k);
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

Result<Platform> Platform::parse(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? text.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return fail(Code::InvalidArgument, "platform '{}' must be OS/ARCH[/VARIANT], e.g. linux/amd64",
                text);
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string Platform::to_string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

bool Platform::satisfies(const Platform& wanted) const {
  if (os != wanted.os || architecture != wanted.architecture) return false;
  if (wanted.variant.empty() || wanted.variant == variant) return true;
  return architecture == "arm64" && variant.empty() && wanted.variant == "v8";
}

Result<Descriptor> Descriptor::from_json(const json& j) {
  if (!j.is_object()) return fail(Code::Corruption, "descriptor is not an object");
  Descriptor d;
  d.media_type = string_field(j, "mediaType");
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_string())
    return fail(Code::Corruption, "descriptor has no digest");
  d.digest = DE_TRY_CTX(Digest::parse(digest->get<std::string>()), "descriptor digest");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<std::int64_t>() < 0)
    return fail(Code::Corruption, "descriptor {} has no valid size", d.digest.to_string());
  d.size = size->get<std::int64_t>();
  if (auto urls = j.find("urls"); urls != j.end() && urls->is_array())
    for (auto& u : *urls)
      if (u.is_string()) d.urls.push_back(u.get<std::string>());
  d.annotations = DE_TRY(string_map(j, "annotations"));
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    Platform platform;
    platform.os = string_field(*p, "os");
    platform.architecture = string_field(*p, "architecture");
    platform.variant = string_field(*p, "variant");
    platform.os_version = string_field(*p, "os.version");
    if (auto f = p->find("os.features"); f != p->end() && f->is_array())
      for (auto& v : *f)
        if (v.is_string()) platform.os_features.push_back(v.get<std::string>());
    d.platform = platform;
  }
  d.artifact_type = string_field(j, "artifactType");
  return d;
}

json Descriptor::to_json() const {
  // nlohmann's object type is sorted by key: the output order is fixed.
  json j = {{"mediaType", media_type}, {"digest", digest.to_string()}, {"size", size}};
  if (!urls.empty()) j["urls"] = urls;
  if (!annotations.empty()) j["annotations"] = annotations;
  if (platform) {
    json p = {{"os", platform->os}, {"architecture", platform->architecture}};
    if (!platform->variant.empty()) p["variant"] = platform->variant;
    if (!platform->os_version.empty()) p["os.version"] = platform->os_version;
    if (!platform->os_features.empty()) p["os.features"] = platform->os_features;
    j["platform"] = p;
  }
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  return j;
}

Result<std::string> sniff_manifest_media_type(std::string_view text) {
  json j = DE_TRY(parse_json(text, "manifest"));
  std::string mt = string_field(j, "mediaType");
  if (!mt.empty()) return mt;
  if (j.contains("manifests")) return std::string(media_type::kOciIndex);
  if (j.contains("fsLayers")) return std::string(media_type::kDockerManifestV1);
  if (j.contains("config") || j.contains("layers")) return std::string(media_type::kOciManifest);
  return fail(Code::Corruption, "document is neither an image manifest nor an index");
}

Result<Manifest> Manifest::parse(std::string_view text) {
  json j = DE_TRY(parse_json(text, "manifest"));
  Manifest m;
  m.media_type = string_field(j, "mediaType");
  if (m.media_type.empty()) {
    if (j.contains("fsLayers")) m.media_type = media_type::kDockerManifestV1;
    else if (j.contains("manifests")) m.media_type = media_type::kOciIndex;
    else m.media_type = media_type::kOciManifest;
  }
  if (media_type::is_schema1(m.media_type))
    return fail(Code::Unsupported,
                "Docker schema 1 manifests are deprecated and not supported; re-push the image "
                "with a current Docker or skopeo to convert it to schema 2");
  if (media_type::is_index(m.media_type))
    return fail(Code::InvalidArgument, "document is an image index ({}), not a manifest",
                m.media_type);
  if (!media_type::is_manifest(m.media_type))
    return fail(Code::Unsupported, "unknown manifest media type '{}'", m.media_type);
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_unsigned() || sv->get<std::uint64_t>() != 2)
    return fail(Code::Corruption, "manifest schemaVersion must be 2");
  auto config = j.find("config");
  if (config == j.end()) return fail(Code::Corruption, "manifest has no config descriptor");
  m.config = DE_TRY_CTX(Descriptor::from_json(*config), std::string("manifest config"));
  auto layers = j.find("layers");
  if (layers != j.end() && !layers->is_null()) {
    if (!layers->is_array()) return fail(Code::Corruption, "manifest 'layers' is not an array");
    for (size_t i = 0; i < layers->size(); ++i)
      m.layers.push_back(
          DE_TRY_CTX(Descriptor::from_json((*layers)[i]), fmt::format("manifest layer {}", i)));
  }
  m.annotations = DE_TRY(string_map(j, "annotations"));
  if (auto s = j.find("subject"); s != j.end() && s->is_object())
    m.subject = DE_TRY_CTX(Descriptor::from_json(*s), std::string("manifest subject"));
  m.artifact_type = string_field(j, "artifactType");
  return m;
}

std::string Manifest::to_json() const {
  json j = {{"schemaVersion", 2}, {"mediaType", media_type}, {"config", config.to_json()}};
  json arr = json::array();
  for (auto& l : layers) arr.push_back(l.to_json());
  j["layers"] = std::move(arr);
  if (!annotations.empty()) j["annotations"] = annotations;
  if (subject) j["subject"] = subject->to_json();
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  return j.dump();
}

Result<Index> Index::parse(std::string_view text) {
  json j = DE_TRY(parse_json(text, "index"));
  Index idx;
  idx.media_type = string_field(j, "mediaType");
  if (idx.media_type.empty()) idx.media_type = media_type::kOciIndex;
  if (!media_type::is_index(idx.media_type))
    return fail(Code::InvalidArgument, "document is not an image index (mediaType {})",
                idx.media_type);
  auto manifests = j.find("manifests");
  // Docker 25 wrote "manifests": null when saving IMAGE@DIGEST (moby#47210): an empty index.
  if (manifests != j.end() && !manifests->is_null()) {
    if (!manifests->is_array()) return fail(Code::Corruption, "index 'manifests' is not an array");
    for (size_t i = 0; i < manifests->size(); ++i)
      idx.manifests.push_back(
          DE_TRY_CTX(Descriptor::from_json((*manifests)[i]), fmt::format("index entry {}", i)));
  }
  idx.annotations = DE_TRY(string_map(j, "annotations"));
  return idx;
}

std::string Index::to_json() const {
  json j = {{"schemaVersion", 2}, {"mediaType", media_type}};
  json arr = json::array();
  for (auto& m : manifests) arr.push_back(m.to_json());
  j["manifests"] = std::move(arr);
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump();
}

}  // namespace de::oci
