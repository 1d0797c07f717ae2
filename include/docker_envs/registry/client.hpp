// Pulling and pushing images over the OCI distribution API (Docker Registry HTTP API v2).
//
// The functions here are the registry module's whole entry point: they take a Reference, what to
// send or what to fetch, and options (credentials, TLS, cache, retry policy) as values. Nothing
// reads the environment: the CLI resolves $DOCKER_CONFIG, $XDG_CACHE_HOME and flags into options.
//
// Network policy: HTTPS with verification against the system store (plus `ca_file`). Plain HTTP
// is tried only for loopback registries and hosts listed in `insecure_registries` (for which TLS
// verification is also off), after HTTPS fails to connect.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/progress.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "docker_envs/registry/auth.hpp"
#include "docker_envs/registry/reference.hpp"

namespace de::registry {

// Progress of one blob transfer. Called from worker threads (serialised by the caller's sink if it
// needs to be); `total` is 0 when unknown.
struct BlobProgress {
  enum class Phase { Checking, Transferring, Done, Skipped, Mounted, Cached };
  std::string id;  // short digest or "layer N"
  Phase phase = Phase::Checking;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};
using ProgressFn = std::function<void(const BlobProgress&)>;

// Forwards blob progress to `reporter` as task events of `stage` (progress.hpp): Checking starts a
// task, Transferring is its progress, and the other phases end it: Done as `done` ("uploaded",
// "downloaded"), Skipped as "already there", Mounted as "mounted", Cached as "cached". An empty
// function for a null reporter.
ProgressFn report_blobs(progress::Reporter* reporter, std::string stage, std::string done);

struct RegistryOptions {
  // Explicit credentials (--creds) win over docker_config.
  std::optional<Credentials> credentials;
  // Parsed config.json (auths / credsStore / credHelpers); absent: anonymous unless `credentials`.
  std::optional<DockerConfig> docker_config;
  CredentialHelper credential_helper = run_credential_helper;
  // Hosts ("host:port") talked to over plain HTTP or unverified TLS.
  std::vector<std::string> insecure_registries;
  // Extra PEM CA bundle trusted for TLS (in addition to the system store).
  std::string ca_file;
  // Root of the local content-addressed blob cache (blobs/sha256/<hex> beneath it). Empty: no
  // cache; pulled layers then live in a temporary directory owned by the returned image.
  std::filesystem::path cache_dir;
  // Retries of transient failures (connection errors, 429, 5xx) with exponential backoff from
  // `initial_backoff`, capped at `max_backoff`; Retry-After is honoured up to `max_retry_after`.
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::seconds max_retry_after{60};
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds stall_timeout{60};
  int parallel = 4;     // concurrent blob transfers
  ProgressFn progress;  // optional
};

struct PullOptions {
  // From an index: the platform to pick. Default: the host's (linux/amd64 on x86-64).
  std::optional<oci::Platform> platform;
  // Download every layer into the cache now (in parallel). Otherwise layers download when first
  // opened (for commands that only need the manifest and config).
  bool fetch_layers = true;
};

struct PullResult {
  oci::Image image;
  Digest manifest_digest;              // of the image manifest (not of the index it came from)
  std::string manifest_media_type;     // of the image manifest
  std::string manifest;                // its bytes
  std::optional<Digest> index_digest;  // when the reference named an index
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t bytes_cached = 0;  // layer bytes found in the cache
};

// Fetches the manifest (negotiating OCI and Docker media types; schema 1 is refused), picks a
// platform from an index, fetches and verifies the config and (with fetch_layers) the layers.
Result<PullResult> pull_image(const Reference& ref, const RegistryOptions& options,
                              const PullOptions& pull = {});

// An image index in a registry: its digest and the platforms of its images.
struct IndexPlatforms {
  Digest digest;
  std::vector<oci::Platform> platforms;  // in the index's order; attestations (unknown/unknown)
                                         // and unlabelled entries left out
};

// Fetches only what `ref` names: for an image index with platform-labelled images, its digest and
// their platforms (each then pulled with pull_image(ref.with_digest(digest), {.platform = p}));
// nothing for a single image.
Result<std::optional<IndexPlatforms>> index_platforms(const Reference& ref,
                                                      const RegistryOptions& options);

struct PullAllResult {
  std::vector<PullResult> images;  // every image of the index in its order, or the one image
  // When the reference named an index: its bytes and media type and the blobs of its entries that
  // are not images (attestations), for oci::write_image_index to keep its digest.
  std::shared_ptr<const oci::SourceIndex> index;
  std::optional<Digest> index_digest;
  std::uint64_t bytes_downloaded = 0;
  std::uint64_t bytes_cached = 0;
};

// Pulls an image whole: every image of an index (each with its manifest bytes), the index's
// bytes, and the entries that are not images as raw blobs; or the one image a manifest names.
Result<PullAllResult> pull_all(const Reference& ref, const RegistryOptions& options,
                               const PullOptions& pull = {});

enum class ManifestFormat {
  Auto,  // Docker schema 2 when the source was Docker (and all layers are gzip), else OCI
  Oci,
  Docker,
};

struct PushOptions {
  Compression compression = Compression::Gzip;  // for layers that are not already compressed
  // Keep layers already compressed otherwise as they are; off: recompress them in `compression`.
  bool keep_compressed = true;
  // Docker refuses zstd: Docker schema 2 has no zstd layer type, so ManifestFormat::Docker with
  // zstd layers (asked for, or kept as they are) is an error before anything is sent.
  ManifestFormat format = ManifestFormat::Auto;
  // 0: each blob in one PUT (monolithic). Otherwise blobs larger than this go up in PATCH chunks.
  std::uint64_t chunk_size = 0;
  // Repositories of the same registry to try mounting blobs from (in addition to the ones the
  // local cache remembers seeing them in).
  std::vector<std::string> mount_from;
  // Blobs known to be in a `mount_from` repository (a shared build cache's): each is mounted at
  // once, one request, without asking first whether the destination has it. Others are checked
  // (HEAD) first, then mounted or uploaded.
  std::set<Digest> mountable;
  // push_index: the index the images were read from (oci::ImageSet::source_index, a registry
  // pull's PullAllResult::index). When it lists exactly the manifests pushed (every image unedited,
  // kept as its source stored it) plus entries whose blobs it holds (attestations, pushed as they
  // are), its bytes are pushed as they are, so the index keeps its digest; else an index is
  // derived.
  std::shared_ptr<const oci::SourceIndex> source_index;
};

struct PushResult {
  Digest manifest_digest;  // of the manifest (or index) PUT at the reference
  std::string media_type;
  std::int64_t size = 0;
  std::uint64_t bytes_uploaded = 0;  // blob bytes sent
  std::uint64_t bytes_skipped = 0;   // blob bytes the registry already had
  std::uint64_t bytes_mounted = 0;   // blob bytes mounted from another repository
  int blobs_uploaded = 0, blobs_skipped = 0, blobs_mounted = 0;
  std::vector<Digest> manifests;  // image manifests pushed (one per image)
};

// Pushes one image: blobs first (HEAD to skip, mount when seen in another repository of the same
// registry, else upload), then the manifest under the reference's tag (or by digest).
Result<PushResult> push_image(const oci::Image& image, const Reference& ref,
                              const RegistryOptions& options, const PushOptions& push = {});

// Pushes several images (one per platform, each listed with Image::index_platform, else its
// config's platform) and an index over them under the reference's tag (the source's index when
// PushOptions::source_index still describes them).
Result<PushResult> push_index(std::span<const oci::Image> images, const Reference& ref,
                              const RegistryOptions& options, const PushOptions& push = {});

// The host's platform ("linux/amd64", "linux/arm64/v8").
oci::Platform host_platform();

}  // namespace de::registry
