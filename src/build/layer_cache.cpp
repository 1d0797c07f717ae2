#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/build/layer_cache.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "build/json_number.hpp"

namespace de::build {
namespace fs = std::filesystem;

Result<Digest> layer_key(std::span<const conda::InstallEntry> entries,
                         const LayerKeyOptions& options, const ContentId& content_id) {
  Sha256 h;
  h.update_field(kLayerFormatVersion);
  h.update_field(to_string(options.compression));
  h.update_field(options.layer.prefix);
  h.update_field(options.layer.owner.to_string());
  h.update_field(std::to_string(options.layer.mtime));
  // Only when there are any, so that the keys of layers without them are what they were.
  if (!options.layer.owned.empty()) {
    std::vector<std::string> owned = options.layer.owned;
    std::sort(owned.begin(), owned.end());
    h.update_field(fmt::format("owned {}", fmt::join(owned, "\n")));
  }
  std::vector<const conda::InstallEntry*> sorted;
  sorted.reserve(entries.size());
  for (const auto& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->path < b->path; });
  for (const auto* e : sorted) {
    h.update_field(e->path);
    h.update_field(fmt::format("{}/{:o}/{}", static_cast<int>(e->type), e->mode, e->size));
    h.update_field(e->link_target);
    if (e->type != conda::InstallEntry::Type::File) continue;
    switch (e->source) {
      case conda::InstallEntry::Source::Bytes:
        h.update_field("bytes");
        h.update_field(Digest::of(e->data).hex());
        break;
      case conda::InstallEntry::Source::HostFile:
        h.update_field("file");
        h.update_field(DE_TRY(content_id(*e)));
        break;
      case conda::InstallEntry::Source::Rewrite:
        h.update_field("rewrite");
        h.update_field(DE_TRY(content_id(*e)));
        h.update_field(e->placeholder);
        h.update_field(e->placeholder_mode == conda::PlaceholderMode::Binary ? "binary" : "text");
        break;
    }
  }
  return h.finish();
}

Digest layer_group_key(std::span<const LayerGroupMember> members, const LayerKeyOptions& options) {
  Sha256 h;
  h.update_field("docker-envs layer group 1");
  h.update_field(kLayerFormatVersion);
  h.update_field(conda::package_plan_format());
  h.update_field(to_string(options.compression));
  h.update_field(options.layer.prefix);
  h.update_field(options.layer.owner.to_string());
  h.update_field(std::to_string(options.layer.mtime));
  for (const auto& o : options.layer.owned) h.update_field("owned " + o);
  for (const auto& m : members) {
    h.update_field(m.dist);
    h.update_field(m.content);
    h.update_field(m.plan.hex());
  }
  return h.finish();
}

Result<std::optional<CachedLayer>> LayerCache::find(const Digest& key) const {
  auto found = DE_TRY(read_key(key));
  if (!found) return std::optional<CachedLayer>();
  return std::optional<CachedLayer>(std::move(found->layer));
}

Result<std::optional<LayerCache::Aliased>> LayerCache::find_alias(const Digest& alias) const {
  auto found = DE_TRY(read_key(alias));
  if (found && found->key == alias) return std::optional<Aliased>();  // not an alias
  return found;
}

Status LayerCache::record_alias(const Digest& alias, const Digest& key,
                                const CachedLayer& layer) const {
  DE_TRY(record(alias, layer, key));
  return {};
}

Result<std::optional<LayerCache::Aliased>> LayerCache::read_key(const Digest& key) const {
  fs::path key_file = root_ / "keys" / (key.hex() + ".json");
  std::error_code ec;
  if (!fs::exists(key_file, ec)) return std::optional<Aliased>();
  auto text = DE_TRY(read_file(key_file, 1 << 20));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return std::optional<Aliased>();  // a foreign or damaged entry: rebuild it
  try {
    Digest layer_key = key;
    if (doc.contains("layer_key")) {
      auto parsed = Digest::parse(doc.at("layer_key").get<std::string>());
      if (!parsed) return std::optional<Aliased>();
      layer_key = *parsed;
    }
    CachedLayer c;
    c.blob.media_type = doc.at("media_type").get<std::string>();
    auto digest = Digest::parse(doc.at("digest").get<std::string>());
    auto diff_id = Digest::parse(doc.at("diff_id").get<std::string>());
    if (!digest || !diff_id) return std::optional<Aliased>();
    c.blob.digest = *digest;
    c.diff_id = *diff_id;
    auto size = detail::whole_number(doc.at("size"));
    auto tar_size = detail::whole_number(doc.at("tar_size"));
    if (!size || !tar_size) return std::optional<Aliased>();
    c.blob.size = static_cast<std::int64_t>(*size);
    c.tar_size = *tar_size;
    auto cached = blob(c.blob, c.diff_id, c.tar_size);
    if (!cached) return std::optional<Aliased>();
    return std::optional<Aliased>(Aliased{layer_key, std::move(*cached)});
  } catch (const nlohmann::json::exception&) {
    return std::optional<Aliased>();
  }
}

std::optional<CachedLayer> LayerCache::blob(const oci::Descriptor& blob, const Digest& diff_id,
                                            std::uint64_t tar_size) const {
  if (blob.size < 0) return std::nullopt;
  fs::path blob_file = root_ / "blobs/sha256" / blob.digest.hex();
  // Recorded before the blob is checked: from here on `cache prune` leaves it alone.
  auto use = EntryUse::begin(root_, blob.digest.hex());
  std::error_code ec;
  auto size = fs::file_size(blob_file, ec);
  if (ec || size != static_cast<std::uintmax_t>(blob.size)) return std::nullopt;
  CachedLayer c{.layer = oci::blob_file_layer(blob, diff_id, blob_file, "the layer cache",
                                              oci::BlobFileUse::MayLink),
                .blob = blob,
                .diff_id = diff_id,
                .tar_size = tar_size};
  return c;
}

Result<CachedLayer> LayerCache::put(const Digest& key, const oci::Layer& layer,
                                    Compression compression) const {
  fs::path blobs = root_ / "blobs/sha256";
  fs::path keys = root_ / "keys";
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (!ec) fs::create_directories(keys, ec);
  if (ec) return fail(Code::Io, "creating the layer cache {}: {}", root_.string(), ec.message());

  auto out = DE_TRY(AtomicFileWriter::create(blobs / "incoming"));
  // Read-only: builds hard-link cached blobs into OCI layouts, so an edit in place of either
  // would corrupt the other; a blob is only ever replaced by renaming a complete one over it.
  DE_TRY(out->set_permissions(fs::perms::owner_read | fs::perms::group_read |
                              fs::perms::others_read));
  auto written = DE_TRY(oci::write_layer_blob(layer, compression, *out));
  DE_TRY(out->commit_as(blobs / written.blob.digest.hex()));
  // A new blob is recent by its own mtime until the use is recorded.
  auto use = EntryUse::begin(root_, written.blob.digest.hex());

  CachedLayer c;
  c.blob = written.blob;
  c.diff_id = written.diff_id;
  if (auto size = layer.tar_size()) {
    c.tar_size = *size;
  } else if (compression == Compression::None) {
    c.tar_size = static_cast<std::uint64_t>(written.blob.size);
  }
  return record(key, std::move(c));
}

Result<CachedLayer> LayerCache::adopt(const Digest& key, const CachedLayer& layer) const {
  fs::path blobs = root_ / "blobs/sha256";
  std::error_code ec;
  fs::create_directories(blobs, ec);
  if (ec) return fail(Code::Io, "creating the layer cache {}: {}", root_.string(), ec.message());
  if (auto here = blob(layer.blob, layer.diff_id, layer.tar_size); !here) {
    auto out = DE_TRY(AtomicFileWriter::create(blobs / "incoming"));
    DE_TRY(out->set_permissions(fs::perms::owner_read | fs::perms::group_read |
                                fs::perms::others_read));
    auto in = DE_TRY(layer.layer->open_blob());  // verified against the descriptor as it is read
    DE_TRY(copy(*in, *out));
    DE_TRY(out->commit_as(blobs / layer.blob.digest.hex()));
  }
  auto use = EntryUse::begin(root_, layer.blob.digest.hex());
  return record(key, layer);
}

Result<CachedLayer> LayerCache::record(const Digest& key, CachedLayer c,
                                       const std::optional<Digest>& layer_key) const {
  fs::path keys = root_ / "keys";
  std::error_code ec;
  fs::create_directories(keys, ec);
  if (ec) return fail(Code::Io, "creating the layer cache {}: {}", root_.string(), ec.message());
  nlohmann::json doc = {{"digest", c.blob.digest.to_string()},
                        {"size", c.blob.size},
                        {"media_type", c.blob.media_type},
                        {"diff_id", c.diff_id.to_string()},
                        {"tar_size", c.tar_size}};
  if (layer_key) doc["layer_key"] = layer_key->to_string();
  DE_TRY(write_file_atomic(keys / (key.hex() + ".json"), doc.dump()));
  c.layer = oci::blob_file_layer(c.blob, c.diff_id, root_ / "blobs/sha256" / c.blob.digest.hex(),
                                 "the layer cache", oci::BlobFileUse::MayLink);
  return c;
}

}  // namespace de::build
