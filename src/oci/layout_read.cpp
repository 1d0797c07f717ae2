#include <algorithm>

#include "docker_envs/oci/media_types.hpp"
#include "oci/layout.hpp"
#include "oci/stored_layer.hpp"

namespace de::oci {
namespace {

constexpr int kMaxIndexDepth = 8;

Platform wanted_platform(const ReadOptions& options) {
  if (options.platform) return *options.platform;
  return Platform{.os = "linux", .architecture = "amd64"};
}

Result<Image> read_manifest(const BlobSource& blobs, const Descriptor& desc) {
  std::string body = DE_TRY(read_layout_blob(blobs, desc, "manifest"));
  Manifest m = DE_TRY_CTX(Manifest::parse(body), "manifest " + desc.digest.to_string());
  // As a registry pull does: an artifact (or a manifest whose config is mislabelled, say as a
  // layer) is not a container image.
  if (m.config.media_type != media_type::kOciConfig &&
      m.config.media_type != media_type::kDockerConfig)
    return fail(Code::Unsupported,
                "manifest {}: the config has media type '{}', not an image config (not a "
                "container image)",
                desc.digest.to_string(), m.config.media_type);
  std::string config_bytes = DE_TRY(read_layout_blob(blobs, m.config, "config"));
  Image image;
  image.config =
      DE_TRY_CTX(ImageConfig::parse(config_bytes), "config " + m.config.digest.to_string());
  image.source_manifest_media_type = m.media_type;
  image.annotations = m.annotations;
  auto diff_ids = DE_TRY(image.config.diff_ids());
  if (diff_ids.size() != m.layers.size())
    return fail(Code::Corruption, "manifest {} has {} layers but its config has {} diff_ids",
                desc.digest.to_string(), m.layers.size(), diff_ids.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const Descriptor& l = m.layers[i];
    auto compression = media_type::layer_compression(l.media_type);
    if (!compression)
      return fail(Code::Unsupported, "layer {} has media type '{}', which is not an image layer",
                  l.digest.to_string(), l.media_type);
    auto opener = [open = blobs.open, digest = l.digest]() { return open(digest); };
    image.layers.push_back(
        std::make_shared<StoredLayer>(l, diff_ids[i], *compression, opener, blobs.origin));
  }
  image.keep_source_bytes(std::move(config_bytes), std::move(body));
  return image;
}

// What `desc` names: an image manifest (true) or an index (false); anything else is an error.
Result<bool> names_manifest(const BlobSource& blobs, const Descriptor& desc) {
  std::string mt = desc.media_type;
  if (mt.empty()) {
    std::string body = DE_TRY(read_layout_blob(blobs, desc, "manifest"));
    mt = DE_TRY(sniff_manifest_media_type(body));
  }
  if (media_type::is_manifest(mt)) return true;
  if (media_type::is_schema1(mt))
    return fail(Code::Unsupported, "Docker schema 1 manifests are not supported");
  if (!media_type::is_index(mt))
    return fail(Code::Unsupported, "{} has media type '{}', which is neither an image nor an index",
                desc.digest.to_string(), mt);
  return false;
}

Result<Image> resolve(const BlobSource& blobs, const Descriptor& desc, const ReadOptions& options,
                      int depth) {
  if (depth > kMaxIndexDepth) return fail(Code::Corruption, "indexes nested too deeply");
  if (DE_TRY(names_manifest(blobs, desc))) return read_manifest(blobs, desc);
  std::string body = DE_TRY(read_layout_blob(blobs, desc, "index"));
  Index index = DE_TRY_CTX(Index::parse(body), "index " + desc.digest.to_string());
  Platform want = wanted_platform(options);
  std::vector<std::string> seen;
  for (auto& child : index.manifests) {
    if (index.manifests.size() == 1 && !child.platform && !options.platform)
      return resolve(blobs, child, options, depth + 1);
    if (child.platform && child.platform->satisfies(want))
      return resolve(blobs, child, options, depth + 1);
    if (child.platform) seen.push_back(child.platform->to_string());
  }
  return fail(Code::NotFound, "index {} has no image for platform {} (it has: {})",
              desc.digest.to_string(), want.to_string(),
              seen.empty() ? std::string("none with a platform")
                           : fmt::format("{}", fmt::join(seen, ", ")));
}

}  // namespace

std::string ref_name(const Descriptor& d) {
  auto it = d.annotations.find(std::string(kRefNameAnnotation));
  return it == d.annotations.end() ? std::string() : it->second;
}

std::filesystem::path layout_blob_path(const std::filesystem::path& dir, const Digest& digest) {
  return dir / "blobs" / "sha256" / digest.hex();
}

Result<std::string> read_layout_blob(const BlobSource& blobs, const Descriptor& d,
                                     std::string_view what, std::uint64_t limit) {
  if (d.size < 0 || static_cast<std::uint64_t>(d.size) > limit)
    return fail(Code::Corruption, "{} {} claims {} bytes, more than a {} can be", what,
                d.digest.to_string(), d.size, what);
  auto raw = DE_TRY_CTX(blobs.open(d.digest), fmt::format("{} {}", what, d.digest.to_string()));
  VerifyingReader in(std::move(raw), d.digest, static_cast<std::uint64_t>(d.size),
                     fmt::format("{} {}", what, d.digest.to_string()));
  return read_all(in, limit);
}

BlobSource directory_blobs(const std::filesystem::path& dir) {
  return BlobSource{.open = [dir](const Digest& d) -> Result<std::unique_ptr<Reader>> {
                      return std::unique_ptr<Reader>(
                          DE_TRY(FileReader::open(layout_blob_path(dir, d))));
                    },
                    .origin = dir.string()};
}

BlobSource archive_blobs(std::shared_ptr<const ArchiveFile> archive) {
  std::string origin = archive->path().string();
  return BlobSource{
      .open =
          [archive](const Digest& d) { return archive->open_member("blobs/sha256/" + d.hex()); },
      .origin = origin};
}

namespace {

// The index.json entries `selector` names (all of them when it is empty), and every name there.
struct Candidates {
  std::vector<const Descriptor*> entries;
  std::vector<std::string> names;
  std::string listing() const {
    return names.empty() ? std::string("no named images")
                         : fmt::format("{}", fmt::join(names, ", "));
  }
};

Result<Candidates> select_entries(const Index& index, std::string_view selector,
                                  const std::string& origin) {
  Candidates out;
  for (auto& d : index.manifests) {
    std::string name = ref_name(d);
    if (!name.empty()) out.names.push_back(name);
    if (selector.empty() || name == selector) out.entries.push_back(&d);
  }
  if (out.entries.empty()) {
    if (selector.empty()) return fail(Code::NotFound, "{} holds no images", origin);
    return fail(Code::NotFound, "{} has no image named '{}' (it has: {})", origin, selector,
                out.listing());
  }
  return out;
}

bool all_same(const std::vector<const Descriptor*>& entries) {
  return std::all_of(entries.begin(), entries.end(),
                     [&](const Descriptor* d) { return d->digest == entries[0]->digest; });
}

std::unexpected<Error> ambiguous(const std::string& origin, const Candidates& c,
                                 std::string_view selector) {
  return fail(Code::InvalidArgument,
              "{} holds {} images{}; choose one with oci:DIR:NAME (names: {})", origin,
              c.entries.size(), selector.empty() ? "" : fmt::format(" named '{}'", selector),
              c.listing());
}

// A multi-platform image holds at most this many images: an index cannot make a reader open more.
constexpr std::size_t kMaxImagesInIndex = 256;

// Appends every image below `desc` to `out`, descending nested indexes; `path` holds the indexes
// being read (a digest met again is a cycle).
Status collect(const BlobSource& blobs, const Descriptor& desc, std::vector<Digest>& path,
               ImageSet& out) {
  if (path.size() > static_cast<std::size_t>(kMaxIndexDepth))
    return fail(Code::Corruption, "indexes nested too deeply");
  if (std::find(path.begin(), path.end(), desc.digest) != path.end())
    return fail(Code::Corruption, "index {} refers to itself (an index cycle)",
                desc.digest.to_string());
  if (DE_TRY(names_manifest(blobs, desc))) {
    if (out.images.size() >= kMaxImagesInIndex)
      return fail(Code::Corruption, "the index lists more than {} images", kMaxImagesInIndex);
    Image image = DE_TRY(read_manifest(blobs, desc));
    image.index_platform = desc.platform;
    out.platforms.push_back(desc.platform ? *desc.platform : image.config.platform());
    out.images.push_back(std::move(image));
    return {};
  }
  std::string body = DE_TRY(read_layout_blob(blobs, desc, "index"));
  Index index = DE_TRY_CTX(Index::parse(body), "index " + desc.digest.to_string());
  out.index = true;
  path.push_back(desc.digest);
  for (auto& child : index.manifests) {
    if (child.platform && child.platform->os == "unknown") continue;  // an attestation
    DE_TRY_CTX(collect(blobs, child, path, out), "index " + desc.digest.to_string());
  }
  path.pop_back();
  return {};
}

// The entries that are not images (attestations) hold at most this much: they are kept in memory.
constexpr std::uint64_t kMaxOtherBlobs = 64 << 20;

// Adds the blobs of the index entry `entry` that is not an image (a build attestation: its
// manifest, config and layers, verified) to `source`; false when they cannot all be read or hold
// more than kMaxOtherBlobs (the index is then derived when written, without the entry).
bool add_other_entry(const BlobSource& blobs, const Descriptor& entry, SourceIndex& source,
                     std::uint64_t& total) {
  auto body = read_layout_blob(blobs, entry, "manifest");
  if (!body) return false;
  auto m = Manifest::parse(*body);
  if (!m) return false;
  std::vector<Descriptor> parts = m->layers;
  parts.push_back(m->config);
  total += body->size();
  source.other_blobs[entry.digest] = std::move(*body);
  for (auto& d : parts) {
    total += static_cast<std::uint64_t>(std::max<std::int64_t>(d.size, 0));
    if (total > kMaxOtherBlobs || d.size > static_cast<std::int64_t>(kMaxLayoutDocument))
      return false;
    auto bytes = read_layout_blob(blobs, d, "blob");
    if (!bytes) return false;
    source.other_blobs[d.digest] = std::move(*bytes);
  }
  return true;
}

// The index `desc` names as a SourceIndex, when it lists the images `set` holds directly (not
// through a nested index): writing them unedited then keeps its bytes and digest.
std::shared_ptr<const SourceIndex> source_index(const BlobSource& blobs, const Descriptor& desc) {
  auto body = read_layout_blob(blobs, desc, "index");
  if (!body) return nullptr;
  std::string media_type = desc.media_type;
  if (media_type.empty()) {
    auto sniffed = sniff_manifest_media_type(*body);
    if (!sniffed) return nullptr;
    media_type = *sniffed;
  }
  if (!media_type::is_index(media_type)) return nullptr;
  auto index = Index::parse(*body);
  if (!index) return nullptr;
  auto source = std::make_shared<SourceIndex>(SourceIndex{.media_type = media_type});
  std::uint64_t total = 0;
  for (auto& child : index->manifests) {
    if (media_type::is_index(child.media_type)) return nullptr;  // nested: flattened, derived
    if (child.platform && child.platform->os == "unknown" &&
        !add_other_entry(blobs, child, *source, total))
      return nullptr;
  }
  source->bytes = std::move(*body);
  return source;
}

}  // namespace

Result<Image> read_oci_layout(const BlobSource& blobs, std::string_view index_json,
                              std::string_view selector, const ReadOptions& options) {
  Index index = DE_TRY_CTX(Index::parse(index_json), blobs.origin + ": index.json");
  auto c = DE_TRY(select_entries(index, selector, blobs.origin));
  if (c.entries.size() > 1 && !all_same(c.entries)) {
    // Several top-level entries: a platform choice when they carry platforms, else ambiguous.
    Platform want = wanted_platform(options);
    for (auto* d : c.entries)
      if (d->platform && d->platform->satisfies(want)) return resolve(blobs, *d, options, 0);
    return ambiguous(blobs.origin, c, selector);
  }
  Image image = DE_TRY(resolve(blobs, *c.entries[0], options, 0));
  if (std::string name = ref_name(*c.entries[0]); !name.empty()) image.names.push_back(name);
  return image;
}

Result<ImageSet> read_oci_layout_set(const BlobSource& blobs, std::string_view index_json,
                                     std::string_view selector) {
  Index index = DE_TRY_CTX(Index::parse(index_json), blobs.origin + ": index.json");
  auto c = DE_TRY(select_entries(index, selector, blobs.origin));
  ImageSet set;
  std::vector<Digest> path;
  if (c.entries.size() > 1 && !all_same(c.entries)) {
    // Several top-level entries with platforms are one multi-platform image.
    bool platforms = std::all_of(c.entries.begin(), c.entries.end(),
                                 [](const Descriptor* d) { return d->platform.has_value(); });
    if (!platforms) return ambiguous(blobs.origin, c, selector);
    for (auto* d : c.entries) {
      if (d->platform->os == "unknown") continue;
      DE_TRY(collect(blobs, *d, path, set));
    }
    set.index = true;
  } else {
    DE_TRY(collect(blobs, *c.entries[0], path, set));
    if (set.index) set.source_index = source_index(blobs, *c.entries[0]);
  }
  if (set.images.empty())
    return fail(Code::NotFound, "{}: the index lists no images", blobs.origin);
  if (std::string name = ref_name(*c.entries[0]); !name.empty())
    for (auto& image : set.images) image.names.push_back(name);
  return set;
}

}  // namespace de::oci
