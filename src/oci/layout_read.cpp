#include "docker_envs/oci/media_types.hpp"
#include "oci/layout.hpp"
#include "oci/stored_layer.hpp"

namespace de::oci {
namespace {

constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";
constexpr size_t kMaxDocument = 8 << 20;  // manifests and configs are small; refuse giants
constexpr int kMaxIndexDepth = 8;

Result<std::string> read_blob(const BlobSource& blobs, const Descriptor& d, std::string_view what) {
  if (d.size > static_cast<std::int64_t>(kMaxDocument))
    return fail(Code::Corruption, "{} {} claims {} bytes, more than a {} can be", what,
                d.digest.to_string(), d.size, what);
  auto raw = DE_TRY_CTX(blobs.open(d.digest), fmt::format("{} {}", what, d.digest.to_string()));
  VerifyingReader in(std::move(raw), d.digest, static_cast<std::uint64_t>(d.size),
                     fmt::format("{} {}", what, d.digest.to_string()));
  return read_all(in, kMaxDocument);
}

Platform wanted_platform(const ReadOptions& options) {
  if (options.platform) return *options.platform;
  return Platform{.os = "linux", .architecture = "amd64"};
}

std::string ref_name(const Descriptor& d) {
  auto it = d.annotations.find(std::string(kRefName));
  return it == d.annotations.end() ? std::string() : it->second;
}

Result<Image> read_manifest(const BlobSource& blobs, const Descriptor& desc) {
  std::string body = DE_TRY(read_blob(blobs, desc, "manifest"));
  Manifest m = DE_TRY_CTX(Manifest::parse(body), "manifest " + desc.digest.to_string());
  std::string config_bytes = DE_TRY(read_blob(blobs, m.config, "config"));
  Image image;
  image.config = DE_TRY_CTX(ImageConfig::parse(config_bytes), "config " + m.config.digest.to_string());
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

Result<Image> resolve(const BlobSource& blobs, const Descriptor& desc, const ReadOptions& options,
                      int depth) {
  if (depth > kMaxIndexDepth) return fail(Code::Corruption, "indexes nested too deeply");
  std::string mt = desc.media_type;
  if (mt.empty()) {
    std::string body = DE_TRY(read_blob(blobs, desc, "manifest"));
    mt = DE_TRY(sniff_manifest_media_type(body));
  }
  if (media_type::is_manifest(mt)) return read_manifest(blobs, desc);
  if (media_type::is_schema1(mt))
    return fail(Code::Unsupported, "Docker schema 1 manifests are not supported");
  if (!media_type::is_index(mt))
    return fail(Code::Unsupported, "{} has media type '{}', which is neither an image nor an index",
                desc.digest.to_string(), mt);
  std::string body = DE_TRY(read_blob(blobs, desc, "index"));
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
              seen.empty() ? std::string("none with a platform") : fmt::format("{}", fmt::join(seen, ", ")));
}

}  // namespace

BlobSource directory_blobs(const std::filesystem::path& dir) {
  return BlobSource{
      .open = [dir](const Digest& d) -> Result<std::unique_ptr<Reader>> {
        return std::unique_ptr<Reader>(DE_TRY(FileReader::open(dir / "blobs" / "sha256" / d.hex())));
      },
      .origin = dir.string()};
}

BlobSource archive_blobs(std::shared_ptr<const ArchiveFile> archive) {
  std::string origin = archive->path().string();
  return BlobSource{.open = [archive](const Digest& d) {
                      return archive->open_member("blobs/sha256/" + d.hex());
                    },
                    .origin = origin};
}

Result<Image> read_oci_layout(const BlobSource& blobs, std::string_view index_json,
                              std::string_view selector, const ReadOptions& options) {
  Index index = DE_TRY_CTX(Index::parse(index_json), blobs.origin + ": index.json");
  std::vector<const Descriptor*> candidates;
  std::vector<std::string> names;
  for (auto& d : index.manifests) {
    std::string name = ref_name(d);
    if (!name.empty()) names.push_back(name);
    if (selector.empty() || name == selector) candidates.push_back(&d);
  }
  auto listing = [&] {
    return names.empty() ? std::string("no named images") : fmt::format("{}", fmt::join(names, ", "));
  };
  if (candidates.empty()) {
    if (selector.empty()) return fail(Code::NotFound, "{} holds no images", blobs.origin);
    return fail(Code::NotFound, "{} has no image named '{}' (it has: {})", blobs.origin, selector,
                listing());
  }
  if (candidates.size() > 1) {
    // Several top-level entries: a platform choice when they carry platforms, else ambiguous
    // unless they are all the same manifest.
    Platform want = wanted_platform(options);
    bool same = std::all_of(candidates.begin(), candidates.end(),
                            [&](const Descriptor* d) { return d->digest == candidates[0]->digest; });
    if (!same) {
      for (auto* d : candidates)
        if (d->platform && d->platform->satisfies(want)) {
          Image image = DE_TRY(resolve(blobs, *d, options, 0));
          return image;
        }
      return fail(Code::InvalidArgument,
                  "{} holds {} images{}; choose one with oci:DIR:NAME (names: {})", blobs.origin,
                  candidates.size(), selector.empty() ? "" : fmt::format(" named '{}'", selector),
                  listing());
    }
  }
  Image image = DE_TRY(resolve(blobs, *candidates[0], options, 0));
  if (std::string name = ref_name(*candidates[0]); !name.empty()) image.names.push_back(name);
  return image;
}

}  // namespace de::oci
