// Private: pieces pull and push share — the per-operation context, manifest fetches, verified
// blob downloads into the cache with resume, and a small parallel-for.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/registry/client.hpp"
#include "registry/blob_cache.hpp"
#include "registry/transport.hpp"

namespace de::registry {

// Shared by the worker threads of one operation (and by lazily downloading layers afterwards).
struct Context {
  Context(const Reference& r, const RegistryOptions& o, bool push)
      : ref(r), options(o), client(r.domain, o), cache(std::filesystem::path()) {
    scopes = {repository_scope(r.repository, push)};
  }
  Reference ref;
  RegistryOptions options;
  RegistryClient client;
  BlobCache cache;
  std::shared_ptr<TempDir> temp;  // the cache's root when options.cache_dir is empty
  std::vector<std::string> scopes;
  std::atomic<std::uint64_t> bytes_downloaded{0}, bytes_cached{0};
  // Cancelled by the first item of for_each_with_session() to fail: the blob downloads in flight
  // (ensure_blob) stop.
  Cancellation cancel;

  Status init_cache();
  std::string blobs_url(const Digest& d) const {
    return fmt::format("/v2/{}/blobs/{}", ref.repository, d.to_string());
  }
  void report(std::string id, BlobProgress::Phase phase, std::uint64_t done,
              std::uint64_t total) const {
    if (options.progress) options.progress(BlobProgress{std::move(id), phase, done, total});
  }
};

struct FetchedManifest {
  std::string bytes;
  std::string media_type;
  Digest digest;
};

// GET /v2/<repo>/manifests/<identifier>, accepting every manifest type; the digest is verified
// when `identifier` is one. Schema 1 is refused here with a clear message.
Result<FetchedManifest> fetch_manifest(Context& ctx, http::Session& session,
                                       const std::string& identifier);

// Makes sure the blob is in the cache: downloads it (verifying digest and size while streaming,
// resuming with Range after a dropped connection), writes it temp + rename. Nothing is left in
// the cache when verification fails.
Status ensure_blob(Context& ctx, http::Session& session, const oci::Descriptor& blob);

// Runs fn(session, i) for i in [0, n) on up to `parallel` threads, each with its own HTTP session
// (de::parallel_for_cancelling: no item is started after a failure, ctx.cancel stops the blob
// downloads in flight, and the first failure is returned).
Status for_each_with_session(Context& ctx, size_t n, int parallel,
                             const std::function<Status(http::Session&, size_t)>& fn);

std::string short_digest(const Digest& d);

}  // namespace de::registry
