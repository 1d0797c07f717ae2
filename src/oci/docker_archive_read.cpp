#include <algorithm>

#include "docker_envs/oci/media_types.hpp"
#include "ffi/compress.hpp"
#include "oci/docker_archive.hpp"
#include "oci/stored_layer.hpp"

namespace de::oci {
namespace {

using Json = nlohmann::json;

Result<Json> parse_member_json(const ArchiveFile& archive, std::string_view name) {
  std::string text = DE_TRY(archive.read_member(name));
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded())
    return fail(Code::Corruption, "{} in {} is not valid JSON", name, archive.path().string());
  return j;
}

// "docker.io/library/busybox:latest" and "busybox:latest" name the same image.
std::string short_name(std::string_view name) {
  std::string s(name);
  for (std::string_view prefix : {"docker.io/library/", "index.docker.io/library/", "docker.io/"})
    if (s.starts_with(prefix)) return s.substr(prefix.size());
  return s;
}

bool same_name(std::string_view a, std::string_view b) {
  auto with_tag = [](std::string n) {
    auto slash = n.rfind('/');
    auto colon = n.rfind(':');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) n += ":latest";
    return n;
  };
  return with_tag(short_name(a)) == with_tag(short_name(b));
}

// Builds a layer backed by a member of the archive. The member may be an uncompressed tar (docker
// save) or gzip (kaniko, go-containerregistry's tarball writer); a compressed member's blob digest
// is computed here, once, because nothing in the archive states it.
Result<LayerPtr> archive_layer(const std::shared_ptr<const ArchiveFile>& archive,
                               const std::string& member, std::optional<Digest> diff_id,
                               const std::optional<Descriptor>& source) {
  auto head_reader = DE_TRY(archive->open_member(member));
  std::byte head[8];
  size_t n = DE_TRY(head_reader->read(head));
  Compression c = ffi::detect_compression(std::span<const std::byte>(head, n));
  std::uint64_t size = DE_TRY(archive->member_size(member));

  Descriptor blob;
  blob.size = static_cast<std::int64_t>(size);
  blob.media_type = media_type::layer_type(c, /*docker=*/true);
  if (c == Compression::None && diff_id) {
    blob.digest = *diff_id;  // the stored bytes are the uncompressed tar
  } else if (source && source->size == blob.size && c != Compression::None) {
    blob.digest = source->digest;
  } else {
    auto in = DE_TRY(archive->open_member(member));
    NullWriter null;
    HashingWriter hasher(null);
    DE_TRY_CTX(copy(*in, hasher), "reading " + member);
    blob.digest = hasher.finish();
    if (c == Compression::None && !diff_id) diff_id = blob.digest;
  }
  auto opener = [archive, member]() { return archive->open_member(member); };
  return LayerPtr(std::make_shared<StoredLayer>(blob, diff_id, c, opener,
                                                archive->path().string() + ":" + member));
}

Result<Image> read_manifest_entry(const std::shared_ptr<const ArchiveFile>& archive,
                                  const Json& entry) {
  if (!entry.is_object()) return fail(Code::Corruption, "manifest.json entry is not an object");
  auto config_it = entry.find("Config");
  if (config_it == entry.end() || !config_it->is_string())
    return fail(Code::Corruption, "manifest.json entry has no Config");
  std::string config_name = config_it->get<std::string>();
  std::string config_bytes = DE_TRY(archive->read_member(config_name));
  Image image;
  image.config = DE_TRY_CTX(ImageConfig::parse(config_bytes), "config " + config_name);
  auto diff_ids = DE_TRY(image.config.diff_ids());

  std::map<Digest, Descriptor> sources;
  if (auto ls = entry.find("LayerSources"); ls != entry.end() && ls->is_object())
    for (auto& [id, desc] : ls->items()) {
      auto d = Descriptor::from_json(desc);
      auto key = Digest::parse(id);
      if (d && key) sources[*key] = *d;
    }

  auto layers_it = entry.find("Layers");
  std::vector<std::string> layer_names;
  if (layers_it != entry.end() && layers_it->is_array())
    for (auto& l : *layers_it)
      if (l.is_string()) layer_names.push_back(l.get<std::string>());
  if (layer_names.size() != diff_ids.size())
    return fail(Code::Corruption, "manifest.json lists {} layers but the config has {} diff_ids",
                layer_names.size(), diff_ids.size());
  for (size_t i = 0; i < layer_names.size(); ++i) {
    std::optional<Descriptor> source;
    if (auto it = sources.find(diff_ids[i]); it != sources.end()) source = it->second;
    image.layers.push_back(DE_TRY_CTX(archive_layer(archive, layer_names[i], diff_ids[i], source),
                                      fmt::format("layer {} ({})", i, layer_names[i])));
  }
  if (auto tags = entry.find("RepoTags"); tags != entry.end() && tags->is_array())
    for (auto& t : *tags)
      if (t.is_string()) image.names.push_back(t.get<std::string>());
  image.source_manifest_media_type = media_type::kDockerManifest;
  image.keep_source_bytes(std::move(config_bytes));
  return image;
}

Result<Image> read_manifest_json(const std::shared_ptr<const ArchiveFile>& archive,
                                 std::string_view selector) {
  Json manifest = DE_TRY(parse_member_json(*archive, "manifest.json"));
  if (manifest.is_null())
    return fail(Code::Corruption, "{}: manifest.json is null (the archive holds no image)",
                archive->path().string());
  if (!manifest.is_array())
    return fail(Code::Corruption, "{}: manifest.json is not an array", archive->path().string());
  if (manifest.empty())
    return fail(Code::NotFound, "{}: manifest.json lists no images", archive->path().string());

  auto describe_choices = [&] {
    std::vector<std::string> choices;
    for (size_t i = 0; i < manifest.size(); ++i) {
      std::string tags;
      if (auto t = manifest[i].find("RepoTags"); t != manifest[i].end() && t->is_array())
        for (auto& tag : *t)
          if (tag.is_string()) tags += (tags.empty() ? "" : ", ") + tag.get<std::string>();
      choices.push_back(fmt::format("@{}{}", i, tags.empty() ? "" : " (" + tags + ")"));
    }
    return fmt::format("{}", fmt::join(choices, "; "));
  };

  size_t index = 0;
  if (selector.starts_with("@")) {
    std::string digits(selector.substr(1));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
        std::stoul(digits) >= manifest.size())
      return fail(Code::NotFound, "{} has no image {}; it holds: {}", archive->path().string(),
                  selector, describe_choices());
    index = std::stoul(digits);
  } else if (!selector.empty()) {
    bool found = false;
    for (size_t i = 0; i < manifest.size() && !found; ++i)
      if (auto t = manifest[i].find("RepoTags"); t != manifest[i].end() && t->is_array())
        for (auto& tag : *t)
          if (tag.is_string() && same_name(tag.get<std::string>(), selector)) {
            index = i;
            found = true;
            break;
          }
    if (!found)
      return fail(Code::NotFound, "{} has no image named '{}'; it holds: {}",
                  archive->path().string(), selector, describe_choices());
  } else if (manifest.size() > 1) {
    return fail(Code::InvalidArgument,
                "{} holds {} images; choose one with docker-archive:PATH:NAME:TAG or :@N: {}",
                archive->path().string(), manifest.size(), describe_choices());
  }
  return read_manifest_entry(archive, manifest[index]);
}

// Legacy archives (before Docker 1.10, and some bazel outputs) have only `repositories` and a
// chain of <id>/json files linked by "parent". The top layer's json doubles as the config.
Result<Image> read_legacy(const std::shared_ptr<const ArchiveFile>& archive,
                          std::string_view selector) {
  Json repos = DE_TRY(parse_member_json(*archive, "repositories"));
  if (!repos.is_object()) return fail(Code::Corruption, "repositories is not a JSON object");
  std::vector<std::pair<std::string, std::string>> images;  // name:tag -> top id
  for (auto& [repo, tags] : repos.items())
    if (tags.is_object())
      for (auto& [tag, id] : tags.items())
        if (id.is_string()) images.emplace_back(repo + ":" + tag, id.get<std::string>());
  if (images.empty()) return fail(Code::NotFound, "repositories lists no images");
  size_t index = 0;
  if (selector.starts_with("@")) {
    index = std::strtoul(std::string(selector.substr(1)).c_str(), nullptr, 10);
    if (index >= images.size()) return fail(Code::NotFound, "no image {}", selector);
  } else if (!selector.empty()) {
    auto it = std::find_if(images.begin(), images.end(),
                           [&](auto& p) { return same_name(p.first, selector); });
    if (it == images.end()) return fail(Code::NotFound, "no image named '{}'", selector);
    index = static_cast<size_t>(it - images.begin());
  } else if (images.size() > 1) {
    return fail(Code::InvalidArgument, "{} holds {} images; choose one with :NAME:TAG",
                archive->path().string(), images.size());
  }

  std::vector<std::string> chain;  // top first
  std::string id = images[index].second;
  Json top;
  while (!id.empty()) {
    if (chain.size() > 1000) return fail(Code::Corruption, "layer parent chain loops");
    Json layer_json = DE_TRY(parse_member_json(*archive, id + "/json"));
    if (chain.empty()) top = layer_json;
    chain.push_back(id);
    auto parent = layer_json.find("parent");
    id = parent != layer_json.end() && parent->is_string() ? parent->get<std::string>() : "";
  }
  std::reverse(chain.begin(), chain.end());

  Image image;
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;
  for (auto& layer_id : chain) {
    auto layer = DE_TRY_CTX(archive_layer(archive, layer_id + "/layer.tar", std::nullopt, {}),
                            "layer " + layer_id);
    // A diffID must be the digest of the uncompressed stream.
    auto tar = DE_TRY(layer->open_tar());
    NullWriter null;
    HashingWriter hasher(null);
    DE_TRY_CTX(copy(*tar, hasher), "reading layer " + layer_id);
    Digest diff_id = hasher.finish();
    auto blob = *layer->blob();
    auto opener = [archive, member = layer_id + "/layer.tar"]() {
      return archive->open_member(member);
    };
    auto c = media_type::layer_compression(blob.media_type).value_or(Compression::None);
    image.layers.push_back(std::make_shared<StoredLayer>(
        blob, diff_id, c, opener, archive->path().string() + ":" + layer_id + "/layer.tar"));
    diff_ids.push_back(diff_id);
    HistoryEntry h;
    Json layer_json = DE_TRY(parse_member_json(*archive, layer_id + "/json"));
    if (auto c2 = layer_json.find("created"); c2 != layer_json.end() && c2->is_string())
      h.created = c2->get<std::string>();
    history.push_back(h);
  }
  for (const char* key : {"id", "parent", "Size", "layer_id", "checksum", "container"})
    top.erase(key);
  image.config = DE_TRY(ImageConfig::parse(top.dump()));
  image.config.set_diff_ids(diff_ids);
  image.config.set_history(history);
  image.names.push_back(images[index].first);
  image.source_manifest_media_type = media_type::kDockerManifest;
  return image;
}

}  // namespace

Result<Image> read_docker_archive(std::shared_ptr<const ArchiveFile> archive,
                                  std::string_view selector) {
  if (archive->contains("manifest.json")) return read_manifest_json(archive, selector);
  if (archive->contains("repositories")) return read_legacy(archive, selector);
  return fail(Code::Corruption, "{} is not a docker-archive: it has neither manifest.json nor "
              "repositories", archive->path().string());
}

}  // namespace de::oci
