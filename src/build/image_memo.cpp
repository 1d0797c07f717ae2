#include "build/image_memo.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "build/json_number.hpp"

namespace de::build::detail {
namespace fs = std::filesystem;

namespace {

template <typename T>
std::string optional_text(const std::optional<T>& v) {
  return v ? "=" + std::to_string(*v) : std::string("-");
}

void hash_record(Sha256& h, const conda::PackageRecord& r) {
  // Every field: the installer writes the merged record into conda-meta, so any of them can
  // change a layer's bytes.
  h.update_field("package");
  h.update_field(r.name);
  h.update_field(r.version);
  h.update_field(r.build);
  h.update_field(std::to_string(r.build_number));
  h.update_field(fmt::format("{}", fmt::join(r.depends, "\n")));
  h.update_field(fmt::format("{}", fmt::join(r.constrains, "\n")));
  h.update_field(r.subdir);
  h.update_field(conda::to_string(r.noarch));
  h.update_field(r.fn);
  h.update_field(r.url);
  h.update_field(r.channel);
  h.update_field(r.md5 ? r.md5->hex() : "-");
  h.update_field(r.sha256 ? r.sha256->hex() : "-");
  h.update_field(optional_text(r.size));
  h.update_field(optional_text(r.timestamp));
  h.update_field(r.license);
  h.update_field(r.track_features);
  h.update_field(r.python_site_packages_path);
}

constexpr std::string_view kStrategyNames[] = {"auto", "per-package", "single"};

}  // namespace

Result<ImageMemoKey> compute_image_memo_key(const BuildRequest& r,
                                            std::span<const conda::InstallEntry> added_files,
                                            const ContentId& file_content) {
  ImageMemoKey out;
  for (const auto& p : r.packages)
    if (!p.sha256) {
      out.why_not = fmt::format("package {} has no sha256", p.dist_name());
      return out;
    }
  Sha256 h;
  h.update_field(kImageMemoFormat);
  h.update_field(kLayerFormatVersion);
  h.update_field(to_string(r.compression));
  h.update_field(r.prefix);
  h.update_field(r.platform);
  h.update_field(r.owner ? "owner " + r.owner->to_string() : std::string("owner -"));
  h.update_field(optional_text(r.source_date_epoch));
  h.update_field(r.created_by);
  h.update_field(kStrategyNames[static_cast<int>(r.strategy)]);
  h.update_field(std::to_string(r.max_layers));
  // The base's layers by content: a new base (another digest with other layers) is another image.
  // Its config is not part of the key; the image config is made from the request on every build.
  h.update_field(fmt::format("{} base layers", r.base.layers.size()));
  for (const auto& layer : r.base.layers) {
    auto diff_id = layer->diff_id();
    h.update_field(diff_id ? diff_id->to_string() : std::string("-"));
  }
  h.update_field(fmt::format("{} packages", r.packages.size()));
  for (const auto& p : r.packages) hash_record(h, p);
  h.update_field(fmt::format("{} wheels", r.wheels.size()));
  for (const auto& w : r.wheels) {
    h.update_field(w.name);
    h.update_field(w.version);
    h.update_field(w.url);
    h.update_field(w.sha256.hex());
    h.update_field(fmt::format("{}{}", w.requested ? "requested" : "-", w.direct_url ? " direct" : ""));
  }
  h.update_field(fmt::format("{} added files", added_files.size()));
  for (const auto& e : added_files) {
    h.update_field(e.path);
    h.update_field(fmt::format("{}/{:o}/{}", static_cast<int>(e.type), e.mode, e.size));
    h.update_field(e.link_target);
    if (e.type == conda::InstallEntry::Type::File) h.update_field(DE_TRY(file_content(e)));
  }
  out.key = h.finish();
  return out;
}

std::string encode_image_memo(const Digest& key, const ImageMemo& memo) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : memo.layers)
    layers.push_back({{"label", l.label},
                      {"packages", l.packages},
                      {"key", l.key.to_string()},
                      {"media_type", l.cached.blob.media_type},
                      {"digest", l.cached.blob.digest.to_string()},
                      {"size", l.cached.blob.size},
                      {"diff_id", l.cached.diff_id.to_string()},
                      {"tar_size", l.cached.tar_size}});
  nlohmann::json activation = nlohmann::json::array();
  for (const auto& [name, value] : memo.activation) activation.push_back({name, value});
  nlohmann::json doc = {{"format", kImageMemoFormat}, {"key", key.to_string()},
                        {"created", memo.created},    {"layers", layers},
                        {"activation", activation},   {"warnings", memo.warnings}};
  return doc.dump(1) + "\n";
}

std::optional<ImageMemo> decode_image_memo(std::string_view text, const Digest& key) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  try {
    if (doc.at("format").get<std::string>() != kImageMemoFormat ||
        doc.at("key").get<std::string>() != key.to_string())
      return std::nullopt;
    ImageMemo memo;
    memo.created = doc.at("created").get<std::string>();
    for (const auto& l : doc.at("layers")) {
      MemoLayer m;
      m.label = l.at("label").get<std::string>();
      m.packages = l.at("packages").get<std::vector<std::string>>();
      auto layer_key = Digest::parse(l.at("key").get<std::string>());
      auto digest = Digest::parse(l.at("digest").get<std::string>());
      auto diff_id = Digest::parse(l.at("diff_id").get<std::string>());
      if (!layer_key || !digest || !diff_id) return std::nullopt;
      m.key = *layer_key;
      m.cached.blob.media_type = l.at("media_type").get<std::string>();
      m.cached.blob.digest = *digest;
      auto size = detail::whole_number(l.at("size"));
      auto tar_size = detail::whole_number(l.at("tar_size"));
      if (!size || !tar_size) return std::nullopt;
      m.cached.blob.size = static_cast<std::int64_t>(*size);
      m.cached.diff_id = *diff_id;
      m.cached.tar_size = *tar_size;
      memo.layers.push_back(std::move(m));
    }
    if (memo.layers.empty()) return std::nullopt;
    for (const auto& a : doc.at("activation")) {
      if (!a.is_array() || a.size() != 2) return std::nullopt;
      memo.activation.emplace_back(a.at(0).get<std::string>(), a.at(1).get<std::string>());
    }
    memo.warnings = doc.at("warnings").get<std::vector<std::string>>();
    return memo;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

fs::path ImageMemoCache::path_of(const Digest& key) const {
  return layers_.root() / "images" / (key.hex() + ".json");
}

Result<std::optional<ImageMemo>> ImageMemoCache::find(const Digest& key) const {
  const fs::path file = path_of(key);
  // Recorded first: from here on `cache prune` leaves the entry alone.
  auto use = EntryUse::begin(file.parent_path(), file.filename().string());
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<ImageMemo>();
  auto text = read_file(file, 64 << 20);
  if (!text) return std::optional<ImageMemo>();  // unreadable: rebuilt and written again
  auto memo = decode_image_memo(*text, key);
  if (!memo) return std::optional<ImageMemo>();
  for (auto& l : memo->layers) {
    auto cached = layers_.blob(l.cached.blob, l.cached.diff_id, l.cached.tar_size);
    if (!cached) return std::optional<ImageMemo>();  // pruned or damaged: the normal build
    l.cached = std::move(*cached);
  }
  return memo;
}

Status ImageMemoCache::put(const Digest& key, const ImageMemo& memo) const {
  const fs::path file = path_of(key);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return fail(Code::Io, "creating {}: {}", file.parent_path().string(), ec.message());
  auto use = EntryUse::begin(file.parent_path(), file.filename().string());
  return write_file_atomic(file, encode_image_memo(key, memo));
}

}  // namespace de::build::detail
