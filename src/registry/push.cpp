// Push: blobs (HEAD to skip, cross-repository mount, monolithic or chunked upload), then the
// manifest, and for several platforms an index over them.
#include <charconv>
#include <mutex>

#include "docker_envs/base/log.hpp"
#include "docker_envs/base/text.hpp"
#include "docker_envs/oci/image_parts.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/registry/artifact.hpp"
#include "registry/blob_transfer.hpp"

namespace de::registry {

namespace mt = oci::media_type;

namespace {

struct Stats {
  std::atomic<std::uint64_t> uploaded{0}, skipped{0}, mounted{0};
  std::atomic<int> n_uploaded{0}, n_skipped{0}, n_mounted{0};
};

using Opener = std::function<Result<std::unique_ptr<Reader>>()>;

Status with_context(Status st, std::string what) {
  if (!st) return std::unexpected(std::move(st).error().add_context(std::move(what)));
  return {};
}

std::string with_query(const std::string& url, std::string_view param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(param);
}

// Reads exactly `n` bytes (or to end of stream) into a buffer.
Result<std::string> read_chunk(Reader& in, std::uint64_t n) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    size_t k = DE_TRY(in.read(std::as_writable_bytes(std::span(buf.data() + got, n - got))));
    if (k == 0) break;
    got += k;
  }
  buf.resize(got);
  return buf;
}

enum class UploadOutcome { Done, Retry };

class Pusher {
 public:
  Pusher(Context& ctx, const PushOptions& push) : ctx_(ctx), push_(push) {}
  Stats stats;

  // Makes sure the registry has the blob, uploading it from open() when needed.
  Status put_blob(http::Session& session, const oci::Descriptor& blob, const Opener& open) {
    std::string id = short_digest(blob.digest);
    std::string what =
        fmt::format("pushing blob {} to {}", blob.digest.to_string(), ctx_.ref.name());
    auto size = static_cast<std::uint64_t>(blob.size);
    ctx_.report(id, BlobProgress::Phase::Checking, 0, size);
    std::optional<std::string> location;
    auto mounted = [&] {
      stats.mounted += size;
      ++stats.n_mounted;
      ctx_.report(id, BlobProgress::Phase::Mounted, size, size);
    };
    // A blob known to be in a repository to mount from: mounted at once (a registry answers 201
    // for a blob the destination has already too). Only when that fails is it checked.
    const bool mount_first = push_.mountable.contains(blob.digest);
    if (mount_first && DE_TRY_CTX(try_mount(session, blob, location), what)) {
      mounted();
      return {};
    }
    if (DE_TRY_CTX(exists(session, blob), what)) {
      if (location) cancel_upload(session, *location);  // the failed mount's session
      stats.skipped += size;
      ++stats.n_skipped;
      ctx_.report(id, BlobProgress::Phase::Skipped, size, size);
      return {};
    }
    if (!mount_first && DE_TRY_CTX(try_mount(session, blob, location), what)) {
      mounted();
      return {};
    }
    for (int failures = 0;;) {
      auto outcome = upload(session, blob, open, location);
      location.reset();
      if (!outcome) return std::unexpected(std::move(outcome).error().add_context(what));
      if (*outcome == UploadOutcome::Done) break;
      if (++failures >= ctx_.options.max_attempts)
        return fail(Code::Network, "{}: gave up after {} attempts", what, failures);
      ctx_.client.backoff(failures, last_response_ ? &*last_response_ : nullptr);
    }
    stats.uploaded += size;
    ++stats.n_uploaded;
    ctx_.cache.remember_repository(ctx_.ref.domain, ctx_.ref.repository, blob.digest);
    ctx_.report(id, BlobProgress::Phase::Done, size, size);
    return {};
  }

 private:
  Result<bool> exists(http::Session& session, const oci::Descriptor& blob) {
    http::Request req{.method = "HEAD", .url = ctx_.blobs_url(blob.digest)};
    auto r = DE_TRY(ctx_.client.send(session, req, ctx_.scopes));
    if (r.status == 200) {
      ctx_.cache.remember_repository(ctx_.ref.domain, ctx_.ref.repository, blob.digest);
      return true;
    }
    if (r.status == 404) return false;
    return std::unexpected(ctx_.client.error_for(r, "checking for the blob"));
  }

  // Ends an upload session not needed after all (best effort: a registry expires them anyway).
  void cancel_upload(http::Session& session, const std::string& location) {
    auto url = ctx_.client.resolve(session, location);
    if (!url) return;
    http::Request req{.method = "DELETE", .url = *url};
    if (auto r = ctx_.client.send(session, req, ctx_.scopes); !r)
      log::debug("cancelling upload {}: {}", location, r.error().to_string());
  }

  // POST ?mount=&from= for each repository the blob was seen in. 201: mounted. 202: the registry
  // started an ordinary upload instead (its Location is kept for the upload).
  Result<bool> try_mount(http::Session& session, const oci::Descriptor& blob,
                         std::optional<std::string>& location) {
    std::vector<std::string> from = push_.mount_from;
    for (auto& r : ctx_.cache.repositories_with(ctx_.ref.domain, blob.digest))
      if (std::find(from.begin(), from.end(), r) == from.end()) from.push_back(r);
    for (auto& repo : from) {
      if (repo == ctx_.ref.repository) continue;
      http::Request req{
          .method = "POST",
          .url = fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", ctx_.ref.repository,
                             blob.digest.to_string(), percent_encode(repo))};
      auto scopes = ctx_.scopes;
      scopes.push_back(repository_scope(repo, false));
      auto r = ctx_.client.send(session, req, scopes);
      if (!r) {
        // The token service may refuse the source repository's scope: just upload.
        log::debug("mounting from {}: {}", repo, r.error().to_string());
        continue;
      }
      if (r->status == 201) {
        log::debug("mounted {} from {}", short_digest(blob.digest), repo);
        ctx_.cache.remember_repository(ctx_.ref.domain, ctx_.ref.repository, blob.digest);
        return true;
      }
      if (r->status == 202) {
        if (auto loc = r->header("Location")) location = *loc;
        return false;
      }
      log::debug("mounting from {}: HTTP {}", repo, r->status);
    }
    return false;
  }

  // One attempt at a whole upload. Retry means a transient failure: start again from POST.
  Result<UploadOutcome> upload(http::Session& session, const oci::Descriptor& blob,
                               const Opener& open, std::optional<std::string> location) {
    last_response_.reset();
    auto size = static_cast<std::uint64_t>(blob.size);
    std::string id = short_digest(blob.digest);
    auto transient = [&](const http::Response& r) {
      last_response_ = r;
      return is_transient_status(r.status) || r.status == 401;
    };
    if (!location) {
      http::Request post{.method = "POST",
                         .url = fmt::format("/v2/{}/blobs/uploads/", ctx_.ref.repository)};
      auto r = DE_TRY(ctx_.client.send(session, post, ctx_.scopes));
      if (r.status != 202) {
        if (is_transient_status(r.status)) return (last_response_ = r, UploadOutcome::Retry);
        return std::unexpected(ctx_.client.error_for(r, "starting an upload"));
      }
      location = r.header("Location");
      if (!location)
        return fail(Code::Network, "the registry started an upload without a Location");
    }
    auto reader = DE_TRY(open());
    std::string url = DE_TRY(ctx_.client.resolve(session, *location));

    if (push_.chunk_size > 0 && size > push_.chunk_size) {
      std::uint64_t offset = 0;
      while (offset < size) {
        std::uint64_t n = std::min<std::uint64_t>(push_.chunk_size, size - offset);
        std::string chunk = DE_TRY(read_chunk(*reader, n));
        if (chunk.size() != n) return fail(Code::Corruption, "the blob is shorter than its size");
        // A failed PATCH is retried alone once the registry confirms where the upload stands.
        for (int tries = 0;;) {
          http::Request patch{.method = "PATCH", .url = url, .body = chunk};
          patch.headers = {"Content-Type: application/octet-stream",
                           fmt::format("Content-Range: {}-{}", offset, offset + n - 1)};
          auto r = ctx_.client.attempt(session, patch, ctx_.scopes);
          if (r && r->status == 202) {
            if (auto loc = r->header("Location")) url = DE_TRY(ctx_.client.resolve(session, *loc));
            break;
          }
          if (!r && !r.error().transient) return std::unexpected(std::move(r.error().error));
          if (r && !transient(*r))
            return std::unexpected(ctx_.client.error_for(
                *r, fmt::format("uploading bytes {}-{}", offset, offset + n - 1)));
          if (++tries >= ctx_.options.max_attempts) return UploadOutcome::Retry;
          ctx_.client.backoff(tries, r ? &*r : nullptr);
          auto received = upload_offset(session, url);
          if (!received) return UploadOutcome::Retry;
          if (*received == offset + n) break;  // it landed; only the answer was lost
          if (*received != offset) return UploadOutcome::Retry;
        }
        offset += n;
        ctx_.report(id, BlobProgress::Phase::Transferring, offset, size);
      }
      std::string put_url = with_query(url, "digest=" + percent_encode(blob.digest.to_string()));
      for (int tries = 0;;) {
        http::Request put{.method = "PUT", .url = put_url};
        put.headers = {"Content-Type: application/octet-stream"};
        auto r = ctx_.client.attempt(session, put, ctx_.scopes);
        if (r && (r->status == 201 || r->status == 204)) return UploadOutcome::Done;
        if (!r && !r.error().transient) return std::unexpected(std::move(r.error().error));
        if (r && !transient(*r))
          return std::unexpected(ctx_.client.error_for(*r, "completing the upload"));
        if (++tries >= ctx_.options.max_attempts) return UploadOutcome::Retry;
        ctx_.client.backoff(tries, r ? &*r : nullptr);
        if (DE_TRY(exists(session, blob))) return UploadOutcome::Done;  // the PUT did land
      }
    }

    // Monolithic: the whole blob in the PUT that completes the upload, verified as it is read.
    VerifyingReader verified(std::move(reader), blob.digest, size, "blob " + id);
    http::Request put{.method = "PUT",
                      .url = with_query(url, "digest=" + percent_encode(blob.digest.to_string())),
                      .body_reader = &verified,
                      .body_size = size};
    put.headers = {"Content-Type: application/octet-stream"};
    auto r = ctx_.client.attempt(session, put, ctx_.scopes);
    if (!r) {
      if (r.error().sink_failed) return std::unexpected(std::move(r.error().error));
      if (r.error().transient) return UploadOutcome::Retry;
      return std::unexpected(std::move(r.error().error));
    }
    if (r->status != 201 && r->status != 204) {
      if (transient(*r)) return UploadOutcome::Retry;
      return std::unexpected(ctx_.client.error_for(*r, "uploading"));
    }
    ctx_.report(id, BlobProgress::Phase::Transferring, size, size);
    return UploadOutcome::Done;
  }

  // Where an upload stands (GET on its URL: 204 with "Range: 0-<last>"); updates `url` from the
  // answer's Location. nullopt when the registry cannot say.
  std::optional<std::uint64_t> upload_offset(http::Session& session, std::string& url) {
    auto r = ctx_.client.send(session, http::Request{.url = url}, ctx_.scopes);
    if (!r || (r->status != 204 && r->status != 200)) return std::nullopt;
    if (auto loc = r->header("Location")) {
      auto resolved = ctx_.client.resolve(session, *loc);
      if (resolved) url = *resolved;
    }
    auto range = r->header("Range");
    if (!range) return 0;
    auto dash = range->find('-');
    if (dash == std::string::npos) return std::nullopt;
    // "0-<last>": a number the registry made up (negative, too large, trailing text) means it
    // cannot say.
    std::string_view text = std::string_view(*range).substr(dash + 1);
    std::uint64_t last = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), last);
    if (ec != std::errc() || end != text.data() + text.size() || last == UINT64_MAX)
      return std::nullopt;
    return last + 1;
  }

  Context& ctx_;
  const PushOptions& push_;
  // Per-thread state would be cleaner; upload() is called from several threads, so keep the last
  // response only for backoff hints (a benign race: it only steers a delay).
  thread_local static std::optional<http::Response> last_response_;
};

thread_local std::optional<http::Response> Pusher::last_response_;

bool docker_format(const oci::Image& image, const PushOptions& push) {
  switch (push.format) {
    case ManifestFormat::Docker:
      return true;
    case ManifestFormat::Oci:
      return false;
    case ManifestFormat::Auto:
      return mt::is_docker(image.source_manifest_media_type);
  }
  return false;
}

// Whether an unedited image may keep its source's manifest: always unless a format is asked for
// that the source's manifest is not in.
bool keeps_source_manifest(const oci::Image& image, const PushOptions& push) {
  switch (push.format) {
    case ManifestFormat::Auto:
      return true;
    case ManifestFormat::Oci:
      return !mt::is_docker(image.source_manifest_media_type);
    case ManifestFormat::Docker:
      return mt::is_docker(image.source_manifest_media_type);
  }
  return false;
}

// What one pushed image became.
struct PushedManifest {
  oci::Descriptor descriptor;  // of the manifest
  std::string bytes;
};

// Docker schema 2 has no zstd layer type: --format docker with zstd layers (asked for, or stored
// zstd blobs that would be kept as they are) is refused before anything is sent.
Status check_docker_format(const oci::Image& image, const PushOptions& push) {
  if (push.format != ManifestFormat::Docker) return {};
  if (push.compression == Compression::Zstd)
    return fail(Code::InvalidArgument,
                "Docker schema 2 manifests have no zstd layer type: push zstd layers with the OCI "
                "format (--format oci or auto), or Docker with --compression gzip");
  if (!push.keep_compressed) return {};
  for (size_t i = 0; i < image.layers.size(); ++i) {
    auto blob = image.layers[i]->blob();
    if (blob && oci::media_type::layer_compression(blob->media_type) == Compression::Zstd)
      return fail(Code::InvalidArgument,
                  "layer {} ({}) is zstd-compressed, which Docker schema 2 manifests cannot "
                  "describe: recompress it with --compression gzip, or push with --format oci",
                  i, image.layers[i]->describe());
  }
  return {};
}

// Pushes the blobs of one image and returns its manifest (not yet PUT).
Result<PushedManifest> push_one(Context& ctx, Pusher& pusher, const oci::Image& image,
                                const PushOptions& push) {
  DE_TRY(check_docker_format(image, push));
  bool docker = docker_format(image, push) && push.compression != Compression::Zstd;
  oci::ProduceOptions produce{.compression = push.compression,
                              .keep_compressed = push.keep_compressed,
                              .docker_media_types = docker};
  std::vector<oci::LayerBlob> layers(image.layers.size());
  auto push_layer = [&](http::Session& session, size_t i) -> Status {
    const oci::Layer& layer = *image.layers[i];
    std::string what = fmt::format("layer {} ({})", i, layer.describe());
    if (auto reuse = oci::reusable_blob(layer, produce)) {
      layers[i] = *reuse;
      return with_context(
          pusher.put_blob(session, reuse->blob, [&layer] { return layer.open_blob(); }), what);
    }
    // A layer compressed before (same diffID, same compression) is known by its blob digest
    // without compressing it again: the registry may have it already.
    auto diff_id = layer.diff_id();
    std::optional<oci::Descriptor> known;
    if (diff_id) known = ctx.cache.compressed_form(*diff_id, push.compression);
    if (known && ctx.cache.contains(known->digest, known->size)) {
      known->media_type = std::string(mt::layer_type(push.compression, docker));
      layers[i] = oci::LayerBlob{*known, *diff_id};
      auto path = ctx.cache.blob_path(known->digest);
      return with_context(
          pusher.put_blob(session, *known,
                          [path]() -> Result<std::unique_ptr<Reader>> {
                            return std::unique_ptr<Reader>(DE_TRY(FileReader::open(path)));
                          }),
          what);
    }
    ctx.report(fmt::format("layer {}", i), BlobProgress::Phase::Checking, 0, 0);
    auto out = DE_TRY_CTX(
        AtomicFileWriter::create(ctx.cache.blob_path(Digest()).parent_path() / ".incoming"), what);
    auto produced = DE_TRY_CTX(oci::produce_layer(layer, produce, *out), what);
    auto path = ctx.cache.blob_path(produced.blob.digest);
    DE_TRY_CTX(out->commit_as(path), what);
    ctx.cache.remember_compressed_form(produced.diff_id, push.compression, produced.blob);
    layers[i] = produced;
    return with_context(
        pusher.put_blob(session, produced.blob,
                        [path]() -> Result<std::unique_ptr<Reader>> {
                          return std::unique_ptr<Reader>(DE_TRY(FileReader::open(path)));
                        }),
        what);
  };
  DE_TRY(for_each_with_session(ctx, image.layers.size(), ctx.options.parallel, push_layer));
  // Docker schema 2 has no type for zstd or for layers kept as they came: fall back to OCI.
  if (docker && std::any_of(layers.begin(), layers.end(),
                            [](auto& l) { return !mt::is_docker(l.blob.media_type); })) {
    docker = false;
    for (auto& l : layers)
      l.blob.media_type =
          std::string(mt::layer_type(*mt::layer_compression(l.blob.media_type), false));
  }

  std::string config = oci::final_config(image, layers);
  oci::Descriptor config_desc{
      .media_type = std::string(docker ? mt::kDockerConfig : mt::kOciConfig),
      .digest = Digest::of(config),
      .size = static_cast<std::int64_t>(config.size())};
  auto session = ctx.client.new_session();
  auto open_config = [config]() -> Result<std::unique_ptr<Reader>> {
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(config));
  };
  DE_TRY_CTX(pusher.put_blob(*session, config_desc, open_config), "config");

  PushedManifest out;
  if (auto kept = keeps_source_manifest(image, push)
                      ? oci::kept_source_manifest(image, config, layers)
                      : std::nullopt) {
    // An unedited image goes up with the manifest it came with: a copy keeps its digest.
    out.bytes = std::move(kept->bytes);
    out.descriptor = oci::index_entry(image, std::move(kept->descriptor));
    return out;
  }
  oci::Manifest manifest = oci::oci_manifest(image, config_desc, layers);
  if (docker) {
    manifest.media_type = mt::kDockerManifest;
    manifest.annotations.clear();
  }
  out.bytes = manifest.to_json();
  out.descriptor =
      oci::index_entry(image, oci::Descriptor{.media_type = manifest.media_type,
                                              .digest = Digest::of(out.bytes),
                                              .size = static_cast<std::int64_t>(out.bytes.size())});
  return out;
}

Status put_manifest(Context& ctx, const std::string& identifier, const std::string& media_type,
                    const std::string& bytes) {
  auto session = ctx.client.new_session();
  std::string what = fmt::format("putting manifest {}:{}", ctx.ref.name(), identifier);
  http::Request req{.method = "PUT",
                    .url = fmt::format("/v2/{}/manifests/{}", ctx.ref.repository, identifier),
                    .body = bytes};
  req.headers = {"Content-Type: " + media_type};
  auto r = DE_TRY_CTX(ctx.client.send(*session, req, ctx.scopes), what);
  if (r.status != 201 && r.status != 200 && r.status != 204)
    return std::unexpected(ctx.client.error_for(r, what));
  std::string digest = Digest::of(bytes).to_string();
  if (auto header = r.header("Docker-Content-Digest"); header && *header != digest)
    return fail(Code::Corruption, "{}: the registry stored it as {}, not {}", what, *header,
                digest);
  return {};
}

// The source index kept as it is (see PushOptions::source_index), when the format asked for is
// the index's own and it lists exactly the manifests pushed (`pushed`) plus entries it holds.
std::optional<oci::KeptManifest> kept_index(const PushOptions& push,
                                            std::span<const Digest> pushed) {
  if (!push.source_index) return std::nullopt;
  bool docker = mt::is_docker(push.source_index->media_type);
  if ((push.format == ManifestFormat::Oci && docker) ||
      (push.format == ManifestFormat::Docker && !docker))
    return std::nullopt;
  return oci::kept_source_index(*push.source_index, pushed);
}

// Pushes the entries of a kept index that are not images (attestations: their blobs, then their
// manifest by digest), as they are.
Status push_other_entries(Context& ctx, Pusher& pusher, const oci::SourceIndex& source,
                          std::span<const Digest> pushed) {
  auto index = DE_TRY(oci::Index::parse(source.bytes));
  auto session = ctx.client.new_session();
  for (auto& entry : index.manifests) {
    if (std::find(pushed.begin(), pushed.end(), entry.digest) != pushed.end()) continue;
    std::string what = fmt::format("index entry {}", entry.digest.to_string());
    const std::string& bytes = source.other_blobs.at(entry.digest);
    auto m = DE_TRY_CTX(oci::Manifest::parse(bytes), what);
    std::vector<oci::Descriptor> blobs = m.layers;
    blobs.push_back(m.config);
    for (auto& d : blobs) {
      auto held = source.other_blobs.find(d.digest);
      if (held == source.other_blobs.end())
        return fail(Code::Internal, "{}: blob {} was not read with the index", what,
                    d.digest.to_string());
      std::string data = held->second;
      DE_TRY_CTX(
          pusher.put_blob(*session, d,
                          [data]() -> Result<std::unique_ptr<Reader>> {
                            return std::unique_ptr<Reader>(std::make_unique<StringReader>(data));
                          }),
          what);
    }
    std::string media_type = entry.media_type.empty() ? m.media_type : entry.media_type;
    DE_TRY_CTX(put_manifest(ctx, entry.digest.to_string(), media_type, bytes), what);
  }
  return {};
}

PushResult finish(const Pusher& pusher) {
  PushResult result;
  result.bytes_uploaded = pusher.stats.uploaded;
  result.bytes_skipped = pusher.stats.skipped;
  result.bytes_mounted = pusher.stats.mounted;
  result.blobs_uploaded = pusher.stats.n_uploaded;
  result.blobs_skipped = pusher.stats.n_skipped;
  result.blobs_mounted = pusher.stats.n_mounted;
  return result;
}

}  // namespace

Result<PushResult> push_image(const oci::Image& image, const Reference& ref,
                              const RegistryOptions& options, const PushOptions& push) {
  std::string context = "pushing " + ref.familiar();
  Context ctx(ref, options, /*push=*/true);
  DE_TRY_CTX(ctx.init_cache(), context);
  Pusher pusher(ctx, push);
  auto pushed = DE_TRY_CTX(push_one(ctx, pusher, image, push), context);
  if (ref.digest && *ref.digest != pushed.descriptor.digest)
    return fail(Code::InvalidArgument,
                "{}: the manifest's digest is {}, not the one in the reference", context,
                pushed.descriptor.digest.to_string());
  DE_TRY_CTX(put_manifest(ctx, ref.identifier(), pushed.descriptor.media_type, pushed.bytes),
             context);
  PushResult result = finish(pusher);
  result.manifest_digest = pushed.descriptor.digest;
  result.media_type = pushed.descriptor.media_type;
  result.size = pushed.descriptor.size;
  result.manifests.push_back(pushed.descriptor.digest);
  return result;
}

Result<PushResult> push_index(std::span<const oci::Image> images, const Reference& ref,
                              const RegistryOptions& options, const PushOptions& push) {
  std::string context = "pushing " + ref.familiar();
  if (images.empty()) return fail(Code::InvalidArgument, "{}: no images", context);
  Context ctx(ref, options, /*push=*/true);
  DE_TRY_CTX(ctx.init_cache(), context);
  Pusher pusher(ctx, push);
  for (auto& image : images) DE_TRY_CTX(check_docker_format(image, push), context);
  oci::Index index;
  bool all_docker = true;
  PushResult result;
  for (auto& image : images) {
    auto pushed = DE_TRY_CTX(push_one(ctx, pusher, image, push), context);
    DE_TRY_CTX(put_manifest(ctx, pushed.descriptor.digest.to_string(), pushed.descriptor.media_type,
                            pushed.bytes),
               context);
    all_docker = all_docker && mt::is_docker(pushed.descriptor.media_type);
    index.manifests.push_back(pushed.descriptor);
    result.manifests.push_back(pushed.descriptor.digest);
  }
  std::string bytes, media_type;
  if (auto kept = kept_index(push, result.manifests)) {
    // Every image unedited: the source's index goes up as it is (its digest kept), with the
    // entries that are not images.
    DE_TRY_CTX(push_other_entries(ctx, pusher, *push.source_index, result.manifests), context);
    bytes = std::move(kept->bytes);
    media_type = std::move(kept->descriptor.media_type);
  } else {
    index.media_type = all_docker ? mt::kDockerManifestList : mt::kOciIndex;
    bytes = index.to_json();
    media_type = index.media_type;
  }
  if (ref.digest && *ref.digest != Digest::of(bytes))
    return fail(Code::InvalidArgument, "{}: the index's digest is {}, not the one in the reference",
                context, Digest::of(bytes).to_string());
  DE_TRY_CTX(put_manifest(ctx, ref.identifier(), media_type, bytes), context);
  PushResult totals = finish(pusher);
  totals.manifests = std::move(result.manifests);
  totals.manifest_digest = Digest::of(bytes);
  totals.media_type = media_type;
  totals.size = static_cast<std::int64_t>(bytes.size());
  return totals;
}

Result<PushResult> push_artifact(const ArtifactToPush& artifact, const Reference& ref,
                                 const RegistryOptions& options, const PushOptions& push) {
  std::string context = "pushing " + ref.familiar();
  const auto& blobs = artifact.manifest.layers;
  if (artifact.layers.size() != blobs.size())
    return fail(Code::Internal, "{}: {} layers for {} blobs", context, artifact.layers.size(),
                blobs.size());
  if (Digest::of(artifact.config) != artifact.manifest.config.digest ||
      static_cast<std::int64_t>(artifact.config.size()) != artifact.manifest.config.size)
    return fail(Code::Internal, "{}: the config does not match its descriptor", context);
  Context ctx(ref, options, /*push=*/true);
  DE_TRY_CTX(ctx.init_cache(), context);
  Pusher pusher(ctx, push);
  DE_TRY_CTX(for_each_with_session(ctx, blobs.size(), ctx.options.parallel,
                                   [&](http::Session& session, size_t i) {
                                     const auto& layer = artifact.layers[i];
                                     return pusher.put_blob(session, blobs[i], [&layer] {
                                       return layer->open_blob();
                                     });
                                   }),
             context);
  auto session = ctx.client.new_session();
  std::string config = artifact.config;
  DE_TRY_CTX(
      pusher.put_blob(*session, artifact.manifest.config,
                      [config]() -> Result<std::unique_ptr<Reader>> {
                        return std::unique_ptr<Reader>(std::make_unique<StringReader>(config));
                      }),
      context + ": config");
  std::string bytes = artifact.manifest.to_json();
  DE_TRY_CTX(put_manifest(ctx, ref.identifier(), artifact.manifest.media_type, bytes), context);
  PushResult result = finish(pusher);
  result.manifest_digest = Digest::of(bytes);
  result.media_type = artifact.manifest.media_type;
  result.size = static_cast<std::int64_t>(bytes.size());
  result.manifests.push_back(result.manifest_digest);
  return result;
}

}  // namespace de::registry
