#include "docker_envs/oci/layout_artifact.hpp"

#include <cctype>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "oci/layout.hpp"

namespace de::oci {
namespace fs = std::filesystem;

namespace {

// The ref name grammar of the OCI image layout spec (annotations.md):
//   ref := component ("/" component)*, component := alphanum (separator alphanum)*,
//   alphanum := [A-Za-z0-9]+, separator := [-._:@+] | "--".
bool valid_ref_name(std::string_view name) {
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto separator = [](char c) {
    return std::string_view("-._:@+").find(c) != std::string_view::npos;
  };
  if (name.empty()) return false;
  size_t i = 0;
  while (true) {
    // One component: alphanum runs joined by single separators (or "--").
    if (i == name.size() || !alnum(name[i])) return false;
    while (i < name.size() && alnum(name[i])) ++i;
    if (i == name.size()) return true;
    if (name[i] == '/') {
      ++i;
      continue;
    }
    if (!separator(name[i])) return false;
    if (name.substr(i, 2) == "--") ++i;
    ++i;
    if (i == name.size() || !alnum(name[i])) return false;
  }
}

Status check_tag(std::string_view tag) {
  if (valid_ref_name(tag)) return {};
  return fail(Code::InvalidArgument,
              "'{}' is not a valid name for an OCI layout entry (letters and digits joined by one "
              "of -._:@+ or --, components separated by '/')",
              tag);
}

bool is_image_config(std::string_view mt) {
  return mt == media_type::kOciConfig || mt == media_type::kDockerConfig;
}

// Writes the layer blob `d` into `blobs_dir` from `layer` unless the layout has it, verified
// against the descriptor before it is renamed into place.
Status put_layer_blob(const fs::path& blobs_dir, const Descriptor& d, const Layer& layer) {
  auto size = static_cast<std::uint64_t>(d.size);
  if (has_layout_blob(blobs_dir, d.digest, size)) return {};
  auto raw = DE_TRY(layer.open_blob());
  VerifyingReader in(std::move(raw), d.digest, size, "layer blob " + d.digest.to_string());
  auto out = DE_TRY(AtomicFileWriter::create(blobs_dir / d.digest.hex()));
  DE_TRY(copy(in, *out));
  return out->commit();
}

}  // namespace

Result<std::optional<LayoutArtifact>> read_layout_artifact(const fs::path& dir,
                                                           std::string_view tag,
                                                           std::uint64_t max_config) {
  DE_TRY(check_tag(tag));
  fs::path index_path = dir / "index.json";
  std::error_code ec;
  if (!fs::exists(index_path, ec)) {
    if (ec) return fail(Code::Io, "{}: {}", index_path.string(), ec.message());
    return std::optional<LayoutArtifact>();
  }
  std::string index_json =
      DE_TRY_CTX(read_file(index_path, kMaxLayoutDocument), index_path.string());
  Index index = DE_TRY_CTX(Index::parse(index_json), index_path.string());
  const Descriptor* entry = nullptr;
  for (auto& d : index.manifests) {
    if (ref_name(d) != tag) continue;
    if (entry && entry->digest != d.digest)
      return fail(Code::Corruption, "{}: '{}' names both {} and {}", index_path.string(), tag,
                  entry->digest.to_string(), d.digest.to_string());
    entry = &d;
  }
  if (!entry) return std::optional<LayoutArtifact>();

  fs::path manifest_path = layout_blob_path(dir, entry->digest);
  auto not_artifact = [&](std::string_view what) {
    return fail(Code::Unsupported, "{}: '{}' names {}, not an artifact", manifest_path.string(),
                tag, what);
  };
  if (media_type::is_index(entry->media_type)) return not_artifact("an image index");
  BlobSource blobs = directory_blobs(dir);
  std::string body =
      DE_TRY_CTX(read_layout_blob(blobs, *entry, "manifest"), manifest_path.string());
  std::string body_type = DE_TRY_CTX(sniff_manifest_media_type(body), manifest_path.string());
  if (media_type::is_index(body_type)) return not_artifact("an image index");
  LayoutArtifact out;
  out.manifest = DE_TRY_CTX(Manifest::parse(body), manifest_path.string());
  if (media_type::is_docker(out.manifest.media_type))
    return not_artifact(fmt::format("a Docker manifest ({})", out.manifest.media_type));
  if (is_image_config(out.manifest.config.media_type))
    return not_artifact(
        fmt::format("a container image (config {})", out.manifest.config.media_type));
  fs::path config_path = layout_blob_path(dir, out.manifest.config.digest);
  if (out.manifest.config.size < 0 ||
      static_cast<std::uint64_t>(out.manifest.config.size) > max_config)
    return fail(Code::Unsupported, "{}: its config is {} bytes, more than the {} accepted",
                manifest_path.string(), out.manifest.config.size, max_config);
  out.config = DE_TRY_CTX(read_layout_blob(blobs, out.manifest.config, "config", max_config),
                          config_path.string());
  out.manifest_digest = entry->digest;
  out.layer = [open = blobs.open, origin = dir.string()](const Descriptor& blob,
                                                         const Digest& diff_id) {
    auto opener = [open, digest = blob.digest]() { return open(digest); };
    return stored_blob_layer(blob, diff_id, std::move(opener), origin);
  };
  return std::optional<LayoutArtifact>(std::move(out));
}

Result<Digest> write_layout_artifact(const fs::path& dir, std::string_view tag,
                                     const Manifest& manifest, std::string_view config,
                                     std::span<const LayerPtr> layers) {
  std::string context = fmt::format("writing the artifact oci:{}:{}", dir.string(), tag);
  DE_TRY_CTX(check_tag(tag), context);
  if (manifest.media_type != media_type::kOciManifest)
    return fail(Code::InvalidArgument, "{}: the manifest's media type is '{}', not {}", context,
                manifest.media_type, media_type::kOciManifest);
  if (is_image_config(manifest.config.media_type))
    return fail(Code::InvalidArgument,
                "{}: the config has media type {}: a container image, not an artifact", context,
                manifest.config.media_type);
  if (Digest::of(config) != manifest.config.digest ||
      static_cast<std::int64_t>(config.size()) != manifest.config.size)
    return fail(Code::InvalidArgument,
                "{}: the config bytes ({} bytes, {}) are not the config the manifest names ({} "
                "bytes, {})",
                context, config.size(), Digest::of(config).to_string(), manifest.config.size,
                manifest.config.digest.to_string());
  if (layers.size() != manifest.layers.size())
    return fail(Code::InvalidArgument, "{}: {} layers given for the manifest's {}", context,
                layers.size(), manifest.layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i]) return fail(Code::InvalidArgument, "{}: layer {} is missing", context, i);
    if (manifest.layers[i].size < 0)
      return fail(Code::InvalidArgument, "{}: layer {} has a negative size", context, i);
  }

  std::string body = manifest.to_json();
  Descriptor entry{.media_type = manifest.media_type,
                   .digest = Digest::of(body),
                   .size = static_cast<std::int64_t>(body.size()),
                   .artifact_type = manifest.artifact_type};
  auto write_blobs = [&](const fs::path& blobs) -> Result<Descriptor> {
    for (size_t i = 0; i < layers.size(); ++i)
      DE_TRY_CTX(put_layer_blob(blobs, manifest.layers[i], *layers[i]),
                 fmt::format("layer {} ({})", i, manifest.layers[i].digest.to_string()));
    DE_TRY_CTX(put_layout_blob(blobs, manifest.config.digest, config), "config");
    DE_TRY_CTX(put_layout_blob(blobs, entry.digest, body), "manifest");
    return entry;
  };
  DE_TRY_CTX(update_layout_directory(dir, tag, write_blobs), context);
  return entry.digest;
}

}  // namespace de::oci
