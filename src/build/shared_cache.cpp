#include "docker_envs/build/shared_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "build/registry_ref.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/layout_artifact.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/registry/artifact.hpp"
#include "ffi/compress.hpp"
#include "build/json_number.hpp"

namespace de::build {

namespace {

using json = nlohmann::json;
namespace mt = oci::media_type;
constexpr std::string_view kOciPrefix = "oci:";

Result<Digest> digest_field(const json& j, const char* name, std::string_view what) {
  auto text = j.at(name).get<std::string>();
  auto d = Digest::parse(text);
  if (!d) return fail(Code::Corruption, "{}: '{}' is not a digest", what, text);
  return *d;
}

// A whole number field of at least 0 and at most `max`; `fallback` when absent, if given. Numbers
// with a fraction, an exponent or a sign are refused: nlohmann's get<> casts them to an integer
// type, which is undefined behaviour when the value is out of the type's range.
Result<std::uint64_t> count_field(const json& j, const char* name, std::string_view what,
                                  std::optional<std::uint64_t> fallback = std::nullopt,
                                  std::uint64_t max = std::numeric_limits<std::int64_t>::max()) {
  auto it = j.find(name);
  if (it == j.end()) {
    if (fallback) return *fallback;
    return fail(Code::Corruption, "{}: no '{}'", what, name);
  }
  auto n = detail::whole_number(*it, max);
  if (!n)
    return fail(Code::Corruption, "{}: '{}' is not a whole number from 0 to {}", what, name, max);
  return *n;
}

}  // namespace

std::string SharedCacheIndex::encode() const {
  json layer_map = json::object();
  for (const auto& [key, l] : layers)
    layer_map[key.to_string()] = {{"media_type", l.blob.media_type},
                                  {"digest", l.blob.digest.to_string()},
                                  {"size", l.blob.size},
                                  {"diff_id", l.diff_id.to_string()},
                                  {"tar_size", l.tar_size},
                                  {"written", l.written}};
  json image_map = json::object();
  for (const auto& [key, image] : images) {
    json image_layers = json::array();
    for (const auto& l : image.layers)
      image_layers.push_back(
          {{"label", l.label}, {"packages", l.packages}, {"key", l.key.to_string()}});
    json activation = json::array();
    for (const auto& [name, value] : image.activation) activation.push_back({name, value});
    image_map[key.to_string()] = {{"platform", image.platform}, {"created", image.created},
                                  {"layers", image_layers},     {"activation", activation},
                                  {"warnings", image.warnings}, {"written", image.written}};
  }
  json plan_map = json::object();
  for (const auto& [key, p] : plans) {
    json& entry = plan_map[key.to_string()] = {
        {"digest", p.blob.digest.to_string()}, {"size", p.blob.size}, {"written", p.written}};
    if (p.length > 0) {
      entry["offset"] = p.offset;
      entry["length"] = p.length;
    }
  }
  json group_map = json::object();
  for (const auto& [alias, key] : groups) group_map[alias.to_string()] = key.to_string();
  json doc = {{"format", kSharedCacheFormat},
              {"layers", layer_map},
              {"images", image_map},
              {"plans", plan_map},
              {"groups", group_map}};
  return doc.dump() + "\n";
}

Result<SharedCacheIndex> SharedCacheIndex::decode(std::string_view text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(Code::Corruption, "the cache index is not a JSON object");
  SharedCacheIndex out;
  try {
    auto format = doc.at("format").get<std::string>();
    if (format != kSharedCacheFormat && format != kSharedCacheFormatV1)
      return fail(Code::Corruption, "the cache is in format '{}', not '{}'", format,
                  kSharedCacheFormat);
    const bool bundles = format == kSharedCacheFormat;
    for (const auto& [key_text, l] : doc.at("layers").items()) {
      std::string what = "layer " + key_text;
      auto key = Digest::parse(key_text);
      if (!key) return fail(Code::Corruption, "{}: the key is not a digest", what);
      SharedLayerEntry e;
      e.blob.media_type = l.at("media_type").get<std::string>();
      if (!mt::layer_compression(e.blob.media_type))
        return fail(Code::Corruption, "{}: {} is not a layer media type", what, e.blob.media_type);
      e.blob.digest = DE_TRY(digest_field(l, "digest", what));
      e.blob.size = static_cast<std::int64_t>(DE_TRY(count_field(l, "size", what)));
      e.diff_id = DE_TRY(digest_field(l, "diff_id", what));
      e.tar_size = DE_TRY(count_field(l, "tar_size", what, std::nullopt, UINT64_MAX));
      e.written = static_cast<std::int64_t>(DE_TRY(count_field(l, "written", what, 0)));
      out.layers.emplace(*key, std::move(e));
    }
    for (const auto& [key_text, image] : doc.at("images").items()) {
      std::string what = "image " + key_text;
      auto key = Digest::parse(key_text);
      if (!key) return fail(Code::Corruption, "{}: the key is not a digest", what);
      SharedImageEntry e;
      e.platform = image.at("platform").get<std::string>();
      e.created = image.at("created").get<std::string>();
      for (const auto& l : image.at("layers")) {
        // (No DE_TRY inside an initializer: returning from it would leak the members made.)
        const Digest layer_key = DE_TRY(digest_field(l, "key", what));
        SharedImageLayer layer{.label = l.at("label").get<std::string>(),
                               .packages = l.at("packages").get<std::vector<std::string>>(),
                               .key = layer_key};
        if (!out.layers.contains(layer.key))
          return fail(Code::Corruption, "{}: layer key {} is not in the cache", what,
                      layer.key.to_string());
        e.layers.push_back(std::move(layer));
      }
      if (e.layers.empty()) return fail(Code::Corruption, "{}: no layers", what);
      for (const auto& a : image.at("activation")) {
        if (!a.is_array() || a.size() != 2)
          return fail(Code::Corruption, "{}: an activation entry is not [name, value]", what);
        e.activation.emplace_back(a.at(0).get<std::string>(), a.at(1).get<std::string>());
      }
      e.warnings = image.at("warnings").get<std::vector<std::string>>();
      e.written = static_cast<std::int64_t>(DE_TRY(count_field(image, "written", what, 0)));
      out.images.emplace(*key, std::move(e));
    }
    if (auto plans = doc.find("plans"); plans != doc.end())
      for (const auto& [key_text, p] : plans->items()) {
        std::string what = "plan " + key_text;
        auto key = Digest::parse(key_text);
        if (!key) return fail(Code::Corruption, "{}: the key is not a digest", what);
        const Digest digest = DE_TRY(digest_field(p, "digest", what));
        const auto size = static_cast<std::int64_t>(DE_TRY(count_field(p, "size", what)));
        const std::uint64_t offset = DE_TRY(count_field(p, "offset", what, 0, UINT64_MAX));
        const std::uint64_t length = DE_TRY(count_field(p, "length", what, 0, UINT64_MAX));
        const auto written = static_cast<std::int64_t>(DE_TRY(count_field(p, "written", what, 0)));
        SharedPlanEntry e{
            .blob = {.media_type = std::string(kSharedPlanType), .digest = digest, .size = size},
            .offset = offset,
            .length = length,
            .written = written};
        if ((p.contains("offset") || p.contains("length")) && !bundles)
          return fail(Code::Corruption, "{}: format 1 has no plan bundles", what);
        if (p.contains("offset") != p.contains("length") || (p.contains("length") && e.length == 0))
          return fail(Code::Corruption, "{}: an offset needs a length, and a length is not 0",
                      what);
        if (e.length > 0) {
          if (e.offset > static_cast<std::uint64_t>(e.blob.size) ||
              e.length > static_cast<std::uint64_t>(e.blob.size) - e.offset)
            return fail(Code::Corruption, "{}: bytes {}+{} lie outside the {}-byte blob", what,
                        e.offset, e.length, e.blob.size);
          e.blob.media_type = std::string(kSharedPlanBundleType);
        }
        out.plans.emplace(*key, std::move(e));
      }
    if (auto groups = doc.find("groups"); groups != doc.end())
      for (const auto& [alias_text, key_text] : groups->items()) {
        std::string what = "group " + alias_text;
        auto alias = Digest::parse(alias_text);
        auto key = Digest::parse(key_text.get<std::string>());
        if (!alias || !key) return fail(Code::Corruption, "{}: not a digest", what);
        if (!out.layers.contains(*key))
          return fail(Code::Corruption, "{}: layer key {} is not in the cache", what,
                      key->to_string());
        out.groups.emplace(*alias, *key);
      }
  } catch (const json::exception& e) {
    return fail(Code::Corruption, "the cache index is damaged: {}", e.what());
  }
  return out;
}

namespace {

// The entries of `map` newest first (ties by key, so that the same inputs keep the same entries).
template <typename Map>
std::vector<typename Map::const_iterator> newest_first(const Map& map) {
  std::vector<typename Map::const_iterator> order;
  for (auto it = map.begin(); it != map.end(); ++it) order.push_back(it);
  std::stable_sort(order.begin(), order.end(),
                   [](auto a, auto b) { return a->second.written > b->second.written; });
  return order;
}

// Keeps the `limit` newest entries of `map`.
template <typename Map>
void keep_newest(Map& map, std::size_t limit) {
  if (map.size() <= limit) return;
  std::set<Digest> keep;
  for (auto it : newest_first(map)) {
    if (keep.size() >= limit) break;
    keep.insert(it->first);
  }
  std::erase_if(map, [&](const auto& entry) { return !keep.contains(entry.first); });
}

}  // namespace

void SharedCacheIndex::merge(const SharedCacheIndex& newer) {
  for (const auto& [key, l] : newer.layers) layers.insert_or_assign(key, l);
  for (const auto& [key, i] : newer.images) images.insert_or_assign(key, i);
  for (const auto& [key, p] : newer.plans) plans.insert_or_assign(key, p);
  keep_newest(images, kSharedCacheMaxImages);
  keep_newest(plans, kSharedCacheMaxPlans);
  if (layers.size() > kSharedCacheMaxLayers) {
    std::set<Digest> keep;
    for (const auto& [key, image] : images)
      for (const auto& l : image.layers) keep.insert(l.key);
    for (auto it : newest_first(layers)) {
      if (keep.size() >= kSharedCacheMaxLayers) break;
      keep.insert(it->first);
    }
    std::erase_if(layers, [&](const auto& entry) { return !keep.contains(entry.first); });
  }
  for (const auto& [alias, key] : newer.groups) groups.insert_or_assign(alias, key);
  std::erase_if(groups, [&](const auto& entry) { return !layers.contains(entry.second); });
}

std::vector<oci::Descriptor> SharedCacheIndex::blobs() const {
  std::map<Digest, oci::Descriptor> by_digest;
  for (const auto& [key, l] : layers) by_digest.emplace(l.blob.digest, l.blob);
  for (const auto& [key, p] : plans) by_digest.emplace(p.blob.digest, p.blob);
  std::vector<oci::Descriptor> out;
  for (auto& [digest, blob] : by_digest) out.push_back(blob);
  return out;
}

SharedCacheIndex shared_cache_entries(const BuildResult& result, std::string_view platform,
                                      std::int64_t now) {
  SharedCacheIndex out;
  SharedImageEntry image{.platform = std::string(platform),
                         .created = result.created,
                         .layers = {},
                         .activation = result.activation,
                         .warnings = result.warnings,
                         .written = now};
  for (const auto& l : result.layers) {
    out.layers.insert_or_assign(
        l.key, SharedLayerEntry{
                   .blob = l.blob, .diff_id = l.diff_id, .tar_size = l.tar_size, .written = now});
    image.layers.push_back({.label = l.label, .packages = l.packages, .key = l.key});
  }
  if (result.image_memo.key && !image.layers.empty())
    out.images.emplace(*result.image_memo.key, std::move(image));
  for (const auto& g : result.group_memos)
    if (out.layers.contains(g.key)) out.groups.insert_or_assign(g.alias, g.key);
  for (const auto& p : result.plans)
    out.plans.insert_or_assign(
        p.key, SharedPlanEntry{.blob = {.media_type = std::string(kSharedPlanType),
                                        .digest = Digest::of(p.blob),
                                        .size = static_cast<std::int64_t>(p.blob.size())},
                               .written = now});
  return out;
}

std::optional<Digest> shared_plan_key(const conda::PackageRecord& k, std::string_view prefix,
                                      std::string_view python) {
  if (!k.sha256) return std::nullopt;
  // The inputs of conda's package_plan_key, with the package's bytes (and so its index.json)
  // named by its sha256, and the planner's options at the values build_image plans with.
  const conda::InstallOptions planner;
  Sha256 h;
  h.update_field("docker-envs shared plan 1");
  h.update_field(conda::package_plan_format());
  h.update_field(k.sha256->hex());
  h.update_field(k.url);
  h.update_field(k.channel);
  h.update_field(k.fn);
  h.update_field(k.md5 ? k.md5->hex() : "");
  h.update_field(k.size ? std::to_string(*k.size) : "");
  h.update_field(k.python_site_packages_path);
  h.update_field("");  // the requested spec: build_image requests none
  h.update_field(prefix);
  h.update_field(python);
  h.update_field(std::to_string(planner.max_rewrite_in_memory));
  h.update_field(planner.verify_files ? "verified" : "unverified");
  return h.finish();
}

namespace {
constexpr std::string_view kPlanMagic = "docker-envs shared plan 1\n";
constexpr std::uint64_t kMaxPlanBytes = 1ull << 30;
}  // namespace

Result<std::string> encode_shared_plan(const conda::PortablePlan& plan) {
  std::string raw(kPlanMagic);
  raw += std::to_string(plan.index_json.size()) + "\n";
  raw += plan.index_json;
  raw += plan.plan;
  // One frame that records its size: the reader allocates the plan once (decode_shared_plan).
  return ffi::zstd_compress(raw);
}

Result<conda::PortablePlan> decode_shared_plan(std::string_view blob) {
  auto raw = DE_TRY_CTX(ffi::zstd_decompress(blob, kMaxPlanBytes), "a shared plan");
  if (!raw.starts_with(kPlanMagic)) return fail(Code::Corruption, "not a shared plan");
  std::string_view rest = std::string_view(raw).substr(kPlanMagic.size());
  auto nl = rest.find('\n');
  std::uint64_t n = 0;
  if (nl == std::string_view::npos || nl == 0 || nl > 12 ||
      rest.substr(0, nl).find_first_not_of("0123456789") != std::string_view::npos ||
      (n = std::stoull(std::string(rest.substr(0, nl)))) > rest.size() - nl - 1)
    return fail(Code::Corruption, "a shared plan with a damaged header");
  rest.remove_prefix(nl + 1);
  conda::PortablePlan out{.index_json = std::string(rest.substr(0, n)), .plan = {}};
  raw.erase(0, static_cast<size_t>(rest.data() - raw.data()) + n);  // the plan, in place
  out.plan = std::move(raw);
  return out;
}

Result<SharedCacheRef> SharedCacheRef::parse(std::string_view text) {
  SharedCacheRef out{.text = std::string(text)};
  if (detail::is_registry_ref(text)) {
    out.registry = true;
    out.reference =
        DE_TRY_CTX(detail::registry_ref(text), fmt::format("cache '{}'", redact_reference(text)));
    if (out.reference->tag.empty() && !out.reference->digest)
      return fail(Code::InvalidArgument, "cache '{}': name a tag", redact_reference(text));
    return out;
  }
  if (text.starts_with(kOciPrefix)) {
    auto ref = DE_TRY_CTX(oci::ImageRef::parse(text), fmt::format("cache '{}'", text));
    out.dir = ref.path;
    out.tag = ref.selector.empty() ? "latest" : ref.selector;
    if (out.dir.empty()) return fail(Code::InvalidArgument, "cache '{}': no directory", text);
    return out;
  }
  return fail(Code::InvalidArgument,
              "cache '{}': expected docker://REGISTRY/REPOSITORY:TAG or oci:DIR[:TAG]",
              redact_reference(text));
}

namespace {
// One cache read for --cache-from: its index, and its blobs as layers.
struct LoadedCache {
  SharedCacheIndex index;
  std::function<oci::LayerPtr(const oci::Descriptor&, const Digest&)> layer;
  std::function<Status(std::span<const oci::Descriptor>)> prefetch;
};
}  // namespace

struct SharedCache::Impl {
  using Loaded = LoadedCache;
  std::vector<Source> sources;
  std::vector<std::optional<Loaded>> loaded;  // parallel to sources
  // Plan bundles read so far (verified), by digest: each is read once for all the plans in it.
  mutable std::mutex bundles_mutex;
  mutable std::map<Digest, std::shared_ptr<const std::string>> bundles;

  // Whether cache i was read and lives in a registry at `domain`.
  bool on_domain(size_t i, std::string_view domain) const {
    const auto& ref = sources[i].ref;
    return loaded[i] && ref.registry && ref.reference->domain == domain;
  }

  // The first cache (in --cache-from order) that holds `key`.
  template <typename Map>
  std::pair<const typename Map::mapped_type*, size_t> find(const Digest& key,
                                                           Map SharedCacheIndex::*map) const {
    for (size_t i = 0; i < loaded.size(); ++i)
      if (loaded[i])
        if (auto it = ((*loaded[i]).index.*map).find(key); it != ((*loaded[i]).index.*map).end())
          return {&it->second, i};
    return {nullptr, 0};
  }
};

SharedCache::SharedCache() : impl_(std::make_unique<Impl>()) {}
SharedCache::~SharedCache() = default;
SharedCache::SharedCache(SharedCache&&) noexcept = default;
SharedCache& SharedCache::operator=(SharedCache&&) noexcept = default;

namespace {

Result<std::optional<LoadedCache>> read_cache(const SharedCacheRef& ref,
                                              const SharedCache::RegistryOptionsFn& registry,
                                              std::optional<Digest>& manifest) {
  // The artifact from the registry or the layout: its manifest and config, its blobs as layers.
  oci::Manifest m;
  std::string config;
  LoadedCache loaded;
  if (ref.registry) {
    auto options = DE_TRY(detail::registry_options(registry));
    auto pulled = DE_TRY(registry::pull_artifact(*ref.reference, options));
    if (!pulled) return std::optional<LoadedCache>();
    manifest = pulled->manifest_digest;
    m = std::move(pulled->manifest);
    config = std::move(pulled->config);
    loaded.layer = std::move(pulled->layer);
    loaded.prefetch = std::move(pulled->prefetch);
  } else {
    auto read = DE_TRY(oci::read_layout_artifact(ref.dir, ref.tag));
    if (!read) return std::optional<LoadedCache>();
    manifest = read->manifest_digest;
    m = std::move(read->manifest);
    config = std::move(read->config);
    loaded.layer = std::move(read->layer);
    // The blobs are files already: read (and verified) when the layers are.
    loaded.prefetch = [](std::span<const oci::Descriptor>) -> Status { return {}; };
  }
  if (m.artifact_type != kSharedCacheArtifactType || m.config.media_type != kSharedCacheConfigType)
    return fail(Code::Unsupported, "an artifact of type '{}', not a docker-envs build cache",
                m.artifact_type);
  loaded.index = DE_TRY(SharedCacheIndex::decode(config));
  return std::optional<LoadedCache>(std::move(loaded));
}

}  // namespace

SharedCache SharedCache::load(std::span<const SharedCacheRef> refs,
                              const RegistryOptionsFn& registry, bool warn) {
  SharedCache out;
  for (const auto& ref : refs) {
    Source source{.ref = ref};
    auto read = read_cache(ref, registry, source.manifest);
    std::optional<Impl::Loaded> loaded;
    if (!read) {
      source.error = read.error().to_string();
    } else if (!*read) {
      source.error = "no cache there yet";
    } else {
      loaded = std::move(**read);
      source.images = loaded->index.images.size();
      source.layers = loaded->index.layers.size();
    }
    if (source.error.empty())
      log::debug("cache {}: {} image(s), {} layer(s)", redact_reference(ref.text), source.images,
                 source.layers);
    else if (warn)
      log::warn("cache {}: not used: {}", redact_reference(ref.text), source.error);
    else
      log::debug("cache {}: not read: {}", redact_reference(ref.text), source.error);
    out.impl_->sources.push_back(std::move(source));
    out.impl_->loaded.push_back(std::move(loaded));
  }
  return out;
}

const std::vector<SharedCache::Source>& SharedCache::sources() const { return impl_->sources; }

bool SharedCache::empty() const {
  return std::none_of(impl_->loaded.begin(), impl_->loaded.end(),
                      [](const auto& l) { return l.has_value(); });
}

const SharedCacheIndex* SharedCache::index_of(const SharedCacheRef& ref) const {
  for (size_t i = 0; i < impl_->sources.size(); ++i)
    if (impl_->sources[i].ref.text == ref.text && impl_->loaded[i]) return &impl_->loaded[i]->index;
  return nullptr;
}

std::optional<Digest> SharedCache::group_layer(const Digest& alias) const {
  for (const auto& loaded : impl_->loaded)
    if (loaded)
      if (auto it = loaded->index.groups.find(alias); it != loaded->index.groups.end())
        return it->second;
  return std::nullopt;
}

const SharedLayerEntry* SharedCache::layer_entry(const Digest& key) const {
  return impl_->find(key, &SharedCacheIndex::layers).first;
}

std::optional<CachedLayer> SharedCache::layer(const Digest& key) const {
  auto [entry, i] = impl_->find(key, &SharedCacheIndex::layers);
  if (!entry) return std::nullopt;
  return CachedLayer{.layer = impl_->loaded[i]->layer(entry->blob, entry->diff_id),
                     .blob = entry->blob,
                     .diff_id = entry->diff_id,
                     .tar_size = entry->tar_size};
}

bool SharedCache::has_plan(const Digest& key) const {
  return impl_->find(key, &SharedCacheIndex::plans).first != nullptr;
}

Result<conda::PortablePlan> SharedCache::plan(const Digest& key) const {
  auto [entry, i] = impl_->find(key, &SharedCacheIndex::plans);
  if (!entry) return fail(Code::NotFound, "no shared plan {}", key.to_string());
  auto read_blob = [&]() -> Result<std::string> {
    auto layer = impl_->loaded[i]->layer(entry->blob, entry->blob.digest);
    auto in = DE_TRY(layer->open_blob());  // verified against the digest as it is read
    std::string bytes;  // a bundle is megabytes: read into its size, not a doubling string
    bytes.reserve(static_cast<size_t>(std::min<std::int64_t>(entry->blob.size, 256 << 20)));
    DE_TRY(append_all(*in, bytes, static_cast<std::uint64_t>(entry->blob.size) + 1));
    return bytes;
  };
  if (entry->length == 0) return decode_shared_plan(DE_TRY(read_blob()));
  std::shared_ptr<const std::string> bundle;
  {
    // Held while the bundle is read: the other threads want the same one.
    std::lock_guard lock(impl_->bundles_mutex);
    auto& slot = impl_->bundles[entry->blob.digest];
    if (!slot) {
      auto bytes = DE_TRY(read_blob());
      slot = std::make_shared<const std::string>(std::move(bytes));
    }
    bundle = slot;
  }
  if (entry->offset > bundle->size() || entry->length > bundle->size() - entry->offset)
    return fail(Code::Corruption, "plan {} lies outside its bundle", key.to_string());
  return decode_shared_plan(std::string_view(*bundle).substr(entry->offset, entry->length));
}

Status SharedCache::prefetch_plans(std::span<const Digest> keys) const {
  std::vector<oci::Descriptor> blobs;
  std::set<Digest> seen;  // a bundle once, however many of its plans are asked for
  for (const auto& key : keys)
    if (auto [entry, i] = impl_->find(key, &SharedCacheIndex::plans);
        entry && seen.insert(entry->blob.digest).second)
      blobs.push_back(entry->blob);
  return prefetch(blobs);
}

const SharedImageEntry* SharedCache::image(const Digest& key, std::string* from) const {
  auto [entry, i] = impl_->find(key, &SharedCacheIndex::images);
  if (entry && from) *from = redact_reference(impl_->sources[i].ref.text);
  return entry;
}

Status SharedCache::prefetch(std::span<const oci::Descriptor> blobs) const {
  // Each blob from the first cache that names it.
  std::vector<std::vector<oci::Descriptor>> per_cache(impl_->loaded.size());
  std::vector<std::set<Digest>> held(impl_->loaded.size());
  for (size_t i = 0; i < impl_->loaded.size(); ++i)
    if (impl_->loaded[i])
      for (const auto& b : impl_->loaded[i]->index.blobs()) held[i].insert(b.digest);
  for (const auto& blob : blobs)
    for (size_t i = 0; i < held.size(); ++i)
      if (held[i].contains(blob.digest)) {
        per_cache[i].push_back(blob);
        break;
      }
  for (size_t i = 0; i < per_cache.size(); ++i)
    if (!per_cache[i].empty())
      DE_TRY_CTX(impl_->loaded[i]->prefetch(per_cache[i]),
                 "cache " + redact_reference(impl_->sources[i].ref.text));
  return {};
}

std::vector<std::string> SharedCache::repositories_on(std::string_view domain) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < impl_->sources.size(); ++i) {
    if (!impl_->on_domain(i, domain)) continue;
    const auto& repository = impl_->sources[i].ref.reference->repository;
    if (std::find(out.begin(), out.end(), repository) == out.end()) out.push_back(repository);
  }
  return out;
}

std::set<Digest> SharedCache::blobs_on(std::string_view domain) const {
  std::set<Digest> out;
  for (size_t i = 0; i < impl_->sources.size(); ++i)
    if (impl_->on_domain(i, domain))
      for (const auto& b : impl_->loaded[i]->index.blobs()) out.insert(b.digest);
  return out;
}

Result<SharedCachePush> push_shared_cache(
    const SharedCacheRef& ref, const SharedCacheIndex& entries, const SharedCacheIndex* known,
    const std::function<oci::LayerPtr(const oci::Descriptor&)>& blob_layer,
    std::vector<std::string> mount_from, const SharedCache::RegistryOptionsFn& registry) {
  SharedCacheIndex index;
  if (known) {
    index = *known;
  } else {
    std::optional<Digest> manifest;
    if (auto current = DE_TRY(read_cache(ref, registry, manifest)))
      index = std::move(current->index);
  }
  // Plans the cache holds already keep their blobs (and are marked written now); the new ones go
  // up as one bundle.
  SharedCacheIndex adding = entries;
  std::string bundle;
  std::vector<Digest> bundled;
  for (auto& [key, p] : adding.plans) {
    if (auto it = index.plans.find(key); it != index.plans.end()) {
      p = SharedPlanEntry{it->second.blob, it->second.offset, it->second.length, p.written};
      continue;
    }
    oci::LayerPtr layer = blob_layer ? blob_layer(p.blob) : nullptr;
    if (!layer || p.length > 0) continue;  // (a plan from elsewhere: as it is)
    auto in = DE_TRY(layer->open_blob());
    auto bytes =
        DE_TRY_CTX(read_all(*in, static_cast<std::uint64_t>(p.blob.size) + 1), "a package plan");
    p.offset = bundle.size();
    p.length = bytes.size();
    bundle += bytes;
    bundled.push_back(key);
  }
  std::optional<oci::Descriptor> bundle_blob;
  if (!bundled.empty()) {
    bundle_blob = oci::Descriptor{.media_type = std::string(kSharedPlanBundleType),
                                  .digest = Digest::of(bundle),
                                  .size = static_cast<std::int64_t>(bundle.size())};
    for (const auto& key : bundled) adding.plans.at(key).blob = *bundle_blob;
  }
  index.merge(adding);
  const auto blobs = index.blobs();
  std::vector<oci::LayerPtr> layers;
  for (const auto& blob : blobs) {
    oci::LayerPtr layer;
    if (bundle_blob && blob.digest == bundle_blob->digest) {
      auto bytes = std::make_shared<const std::string>(std::move(bundle));
      layer = oci::stored_blob_layer(
          blob, std::nullopt,
          [bytes]() -> Result<std::unique_ptr<Reader>> {
            return std::unique_ptr<Reader>(std::make_unique<StringReader>(*bytes));
          },
          "the package plans");
    } else if (blob_layer) {
      layer = blob_layer(blob);
    }
    if (!layer) {
      // A blob of an earlier push that this machine does not have: the registry has it (the
      // push checks first) unless it was deleted there, which this reports.
      layer = oci::stored_blob_layer(
          blob, std::nullopt,
          [blob]() -> Result<std::unique_ptr<Reader>> {
            return fail(Code::NotFound,
                        "blob {} of the cache is neither in the registry nor on this machine",
                        blob.digest.to_string());
          },
          "the shared cache");
    }
    layers.push_back(std::move(layer));
  }
  std::string config = index.encode();
  oci::Manifest manifest{.media_type = std::string(mt::kOciManifest),
                         .config = {.media_type = std::string(kSharedCacheConfigType),
                                    .digest = Digest::of(config),
                                    .size = static_cast<std::int64_t>(config.size())},
                         .layers = blobs,
                         .annotations = {},
                         .subject = std::nullopt,
                         .artifact_type = std::string(kSharedCacheArtifactType)};
  SharedCachePush out{.images = index.images.size(), .layers = index.layers.size()};
  if (!ref.registry) {
    out.manifest = DE_TRY(oci::write_layout_artifact(ref.dir, ref.tag, manifest, config, layers));
    return out;
  }
  {
    auto options = DE_TRY(detail::registry_options(registry));
    auto pushed = DE_TRY(registry::push_artifact(
        {.manifest = std::move(manifest), .config = std::move(config), .layers = std::move(layers)},
        *ref.reference, options, {.mount_from = std::move(mount_from)}));
    out.manifest = pushed.manifest_digest;
    out.bytes_uploaded = pushed.bytes_uploaded;
    out.blobs_uploaded = pushed.blobs_uploaded;
    out.blobs_skipped = pushed.blobs_skipped;
    out.blobs_mounted = pushed.blobs_mounted;
    return out;
  }
}

}  // namespace de::build
