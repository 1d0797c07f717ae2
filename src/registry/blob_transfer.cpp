#include "registry/blob_transfer.hpp"

#include <algorithm>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::registry {

namespace mt = oci::media_type;

std::string short_digest(const Digest& d) { return d.hex().substr(0, 12); }

Status Context::init_cache() {
  if (options.cache_dir.empty()) {
    temp = std::make_shared<TempDir>(DE_TRY(TempDir::create({}, "docker-envs-pull-")));
    cache = BlobCache(temp->path());
  } else {
    cache = BlobCache(options.cache_dir);
  }
  return cache.init();
}

Result<FetchedManifest> fetch_manifest(Context& ctx, http::Session& session,
                                       const std::string& identifier) {
  std::string what =
      fmt::format("fetching manifest {}",
                  ctx.ref.name() + (identifier.starts_with("sha256:") ? "@" : ":") + identifier);
  http::Request req{.url = fmt::format("/v2/{}/manifests/{}", ctx.ref.repository, identifier)};
  req.headers.push_back(fmt::format("Accept: {}, {}, {}, {}, {};q=0.5, {};q=0.5", mt::kOciIndex,
                                    mt::kOciManifest, mt::kDockerManifestList, mt::kDockerManifest,
                                    mt::kDockerManifestV1Signed, mt::kDockerManifestV1));
  req.max_body = 4 << 20;
  auto r = DE_TRY_CTX(ctx.client.send(session, req, ctx.scopes), what);
  if (r.status != 200) return std::unexpected(ctx.client.error_for(r, what));
  if (r.body.size() >= req.max_body)
    return fail(Code::Corruption, "{}: the manifest is larger than 4 MiB", what);
  FetchedManifest m;
  m.bytes = std::move(r.body);
  m.digest = Digest::of(m.bytes);
  m.media_type = r.header("Content-Type").value_or("");
  if (auto semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  while (!m.media_type.empty() && m.media_type.back() == ' ') m.media_type.pop_back();
  if (!mt::is_index(m.media_type) && !mt::is_manifest(m.media_type) &&
      !mt::is_schema1(m.media_type))
    m.media_type = DE_TRY_CTX(oci::sniff_manifest_media_type(m.bytes), what);
  if (mt::is_schema1(m.media_type))
    return fail(
        Code::Unsupported,
        "{}: this is a Docker schema 1 manifest ({}), a format registries deprecated in 2019 "
        "and docker-envs does not read; push the image again with a current Docker or "
        "pick a newer tag",
        what, m.media_type);
  if (identifier.starts_with("sha256:") && m.digest.to_string() != identifier)
    return fail(Code::Corruption, "{}: the registry sent a manifest whose digest is {}", what,
                m.digest.to_string());
  if (auto header = r.header("Docker-Content-Digest"); header && *header != m.digest.to_string())
    log::debug("{}: Docker-Content-Digest {} differs from the content's {}", what, *header,
               m.digest.to_string());
  return m;
}

namespace {

// Writes into a temp file in the cache, hashing and counting, refusing more than `limit` bytes.
class CacheSink final : public Writer {
 public:
  CacheSink(std::unique_ptr<AtomicFileWriter> file, std::uint64_t limit, const Context& ctx,
            std::string id)
      : file_(std::move(file)), limit_(limit), ctx_(ctx), id_(std::move(id)) {}
  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    if (bytes_ + data.size() > limit_)
      return fail(Code::Corruption,
                  "the registry sent more than the {} bytes the manifest declares", limit_);
    hash_.update(data);
    bytes_ += data.size();
    if (bytes_ - reported_ >= (4u << 20) || bytes_ == limit_) {
      reported_ = bytes_;
      ctx_.report(id_, BlobProgress::Phase::Transferring, bytes_, limit_);
    }
    return file_->write(data);
  }
  std::uint64_t bytes() const { return bytes_; }
  Digest finish() { return hash_.finish(); }
  AtomicFileWriter& file() { return *file_; }

 private:
  std::unique_ptr<AtomicFileWriter> file_;
  std::uint64_t limit_;
  const Context& ctx_;
  std::string id_;
  Sha256 hash_;
  std::uint64_t bytes_ = 0, reported_ = 0;
};

}  // namespace

Status ensure_blob(Context& ctx, http::Session& session, const oci::Descriptor& blob) {
  std::string id = short_digest(blob.digest);
  auto use = EntryUse::begin(ctx.cache.root(), "blobs/" + blob.digest.hex());
  if (ctx.cache.contains(blob.digest, blob.size)) {
    ctx.bytes_cached += static_cast<std::uint64_t>(blob.size);
    ctx.report(id, BlobProgress::Phase::Cached, blob.size, blob.size);
    return {};
  }
  if (blob.size < 0)
    return fail(Code::Corruption, "blob {} has a negative size", blob.digest.to_string());
  std::string what =
      fmt::format("downloading blob {} from {}", blob.digest.to_string(), ctx.ref.name());
  auto size = static_cast<std::uint64_t>(blob.size);
  auto target = ctx.cache.blob_path(blob.digest);
  std::unique_ptr<CacheSink> sink;
  int failures = 0;
  while (true) {
    if (!sink) {
      auto file = DE_TRY_CTX(AtomicFileWriter::create(target), what);
      sink = std::make_unique<CacheSink>(std::move(file), size, ctx, id);
    }
    std::uint64_t offset = sink->bytes();
    http::Request req{.url = ctx.blobs_url(blob.digest),
                      .sink = sink.get(),
                      .max_body = 1 << 16,
                      .cancel = &ctx.cancel};
    http::resume_at(req, offset);
    auto r = ctx.client.attempt(session, req, ctx.scopes);
    if (!r) {
      if (r.error().sink_failed)
        return std::unexpected(std::move(r.error().error).add_context(what));
      if (!r.error().transient || ++failures >= ctx.options.max_attempts)
        return std::unexpected(std::move(r.error().error).add_context(what));
      std::string reason =
          fmt::format("{} (resuming at byte {})", r.error().error.message(), sink->bytes());
      if (!ctx.client.backoff(failures, nullptr, req.url, reason, &ctx.cancel))
        return std::unexpected(std::move(r.error().error).add_context(what));
      continue;
    }
    if (offset > 0 && r->status == 200) {
      // The server ignored Range (or a proxy did): start over.
      log::debug("{}: the server does not resume; starting again", what);
      sink.reset();
      continue;
    }
    if (r->status != 200 && r->status != 206) {
      if (is_transient_status(r->status) && ++failures < ctx.options.max_attempts &&
          ctx.client.backoff(failures, &*r, req.url, {}, &ctx.cancel))
        continue;
      return std::unexpected(ctx.client.error_for(*r, what));
    }
    if (sink->bytes() < size) {
      // The connection closed cleanly but early (some proxies do that): resume.
      auto short_read = fmt::format("the transfer ended after {} of {} bytes", sink->bytes(), size);
      if (++failures >= ctx.options.max_attempts ||
          !ctx.client.backoff(failures, nullptr, req.url, short_read, &ctx.cancel))
        return fail(Code::Network, "{}: {}", what, short_read);
      continue;
    }
    break;
  }
  Digest got = sink->finish();
  if (got != blob.digest)
    return fail(Code::Corruption,
                "{}: the bytes received have digest {}, not {}; nothing was cached", what,
                got.to_string(), blob.digest.to_string());
  DE_TRY_CTX(sink->file().commit(), what);
  ctx.bytes_downloaded += size;
  ctx.report(id, BlobProgress::Phase::Done, size, size);
  return {};
}

Status for_each_with_session(Context& ctx, size_t n, int parallel,
                             const std::function<Status(http::Session&, size_t)>& fn) {
  const auto threads = static_cast<unsigned>(std::max(parallel, 1));
  std::vector<std::unique_ptr<http::Session>> sessions(thread_count(threads, n));
  return parallel_for_cancelling(n, threads, ctx.cancel, [&](size_t i, unsigned worker) {
    auto& session = sessions[worker];
    if (!session) session = ctx.client.new_session();
    return fn(*session, i);
  });
}

}  // namespace de::registry
