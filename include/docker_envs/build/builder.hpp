// The build pipeline: exact packages (from a lock, an @EXPLICIT file or a solve) become an image.
//
//   fetch + verify + extract (PackageCache, parallel) -> plan the install (conda installer)
//   -> plan layers (layer_plan) -> key each layer -> reuse it from the LayerCache or produce it
//   (parallel) -> append to the base image -> config (PATH, CONDA_PREFIX, variables, activation
//   exports, labels, entrypoint...) -> an oci::Image whose layers are all cached blobs.
//
// Unless the whole-image memo (layer_cache/images/, docs/cache.md) knows the inputs: then the
// layers, created time and activation exports come from it, nothing is fetched or planned, and
// only the last two steps run (the same code, so the same bytes).
//
// Nothing here reads the environment, argv or the clock: file mtimes come from `source_date_epoch`
// (0 when unset), the created times from it or else from the newest package's timestamp, so the
// same inputs give the same image digest on any machine. Writing or pushing
// the image is the caller's job (oci::write_image, registry push).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/progress.hpp"
#include "docker_envs/build/entries_layer.hpp"
#include "docker_envs/build/image_spec.hpp"
#include "docker_envs/build/layer_plan.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::build {

// A PyPI wheel to install into the environment's Python after the conda packages (a lock's pip
// entry: the lock says which file, nothing is resolved).
struct WheelToInstall {
  std::string name, version;  // as the lock names it (for messages)
  std::string url;            // http(s) or file://; a file name that is not a wheel is refused
  Digest sha256;              // required: verified before the wheel is extracted
  bool requested = false;     // write REQUESTED
  bool direct_url = false;    // write direct_url.json (PEP 610): a path or URL requirement
};

class SharedCache;  // shared_cache.hpp

struct BuildRequest {
  // The environment, in install order (dependencies first), each with its url and, when known,
  // sha256 / md5 / size (verified before extraction).
  std::vector<conda::PackageRecord> packages;
  // Installed after `packages` into its `python`, in their own layers (after the conda ones and
  // before the environment-wide one), through the package cache (wheels/).
  std::vector<WheelToInstall> wheels;
  oci::Image base;  // read by the caller (scratch, an archive, a registry image)
  std::string environment_name;
  // Who built it, as the caller names itself ("docker-envs build"): the image history's
  // created_by and conda-meta/history's command. The library writes no tool name of its own.
  std::string created_by;
  std::string prefix = "/opt/conda";
  std::string platform = "linux-64";
  std::optional<Owner> owner;       // `user`: prefix files owned by it, and the config's User
  std::optional<std::string> user;  // the config's User as written ("1000:1000")
  std::optional<std::vector<std::string>> entrypoint, cmd;
  std::optional<std::string> workdir;
  std::vector<NameValue> variables;  // environment.yml `variables:` (after activation exports)
  std::vector<NameValue> env;        // image.env (last: overrides everything)
  std::vector<NameValue> labels;
  std::vector<FileSpec> files;  // host files for the final layer
  LayerStrategy strategy = LayerStrategy::Auto;
  std::size_t max_layers = 64;
  Compression compression = Compression::Gzip;  // of the cached blobs (None for docker-archive)
  std::optional<std::int64_t> source_date_epoch;
  std::string spec_hash;                // a digest of the inputs, for the label
  std::filesystem::path package_cache;  // required
  std::filesystem::path layer_cache;    // required; also holds the installer's plans (plans/)
  conda::Fetcher* fetcher = nullptr;    // required
  // --cache-from: asked for the whole image after the local memo, and for each layer the layer
  // cache lacks, before the layer is produced (shared_cache.hpp). Optional.
  const SharedCache* shared_cache = nullptr;
  // --cache-to: keep each package's plan in BuildResult::plans (a whole-image memo hit plans
  // nothing, and so exports none, unless plan_missing says a target lacks one).
  bool export_plans = false;
  // With export_plans: whether a --cache-to target lacks the plan of this shared_plan_key. A
  // whole-image memo hit is not taken while one is missing: the build plans (from the local plan
  // cache), so that the plans go up once and machines with one package changed find them. Unset:
  // none is missing.
  std::function<bool(const Digest&)> plan_missing;
  unsigned parallelism = 2;
  // Stages "fetch" (a task per package: downloaded / cached / local), "plan" and "layers" (a task
  // per layer: built / reused); optional.
  progress::Reporter* reporter = nullptr;
};

struct BuiltLayer {
  std::string label;                  // "numpy-1.26.4-py311_0" or "group 3 (5 packages)"
  std::vector<std::string> packages;  // dist names
  oci::Descriptor blob;
  Digest diff_id;
  Digest key;
  std::uint64_t tar_size = 0;
  bool reused = false;
  bool shared = false;  // reused from a shared cache (--cache-from), not the local layer cache
};

// Whether the build used the whole-image memo (docs/cache.md): its key, when the inputs have one,
// and whether it was found (nothing fetched, extracted or planned).
struct ImageMemoUse {
  std::optional<Digest> key;
  bool hit = false;
  std::string from;     // on a hit: "local", or the shared cache's reference
  // Without a key: why ("package x-1-0 has no sha256"); with one that was found but not used:
  // why ("2 package plan(s) to export to the --cache-to cache(s)").
  std::string why_not;
};

struct BuildResult {
  oci::Image image;
  ImageMemoUse image_memo;
  std::vector<BuiltLayer> layers;  // the environment's layers (base layers not included)
  std::size_t base_layers = 0;
  std::size_t package_count = 0;  // conda packages
  std::size_t wheel_count = 0;
  std::uint64_t bytes_reused = 0, bytes_new = 0;  // layer blobs
  // Packages downloaded for this build (the others were in the package cache or local files).
  std::size_t packages_downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
  std::size_t packages_local = 0;  // read in place from a local (file://) channel
  std::vector<std::string> warnings;
  // What a shared cache keeps of the build (shared_cache_entries): the created time, the
  // activation scripts' exports, and with BuildRequest::export_plans each package's plan (its
  // shared_plan_key and the blob encode_shared_plan made).
  std::string created;
  std::vector<NameValue> activation;
  struct ExportedPlan {
    Digest key;
    std::string blob;
  };
  std::vector<ExportedPlan> plans;
  // The group memos of its layers (LayerCache, docs/cache.md#group-memos): a layer's key by what
  // its packages' plans are, for each layer without an entangled package.
  struct GroupMemo {
    Digest alias;
    Digest key;
  };
  std::vector<GroupMemo> group_memos;
  // Packages whose entries were read (planned, or their plans read back): with group memos, only
  // those of the layers not found and those with activation scripts; 0 on an image memo hit.
  std::size_t packages_planned = 0;
  // Packages that a shared cache's plans spared fetching (--cache-from, one package changed).
  std::size_t packages_not_fetched = 0;
};

Result<BuildResult> build_image(const BuildRequest& request);

// Variables that `export NAME=VALUE` lines of an activation script set, evaluated statically:
// quotes are removed, $CONDA_PREFIX / ${CONDA_PREFIX} become `prefix`; any other line that does
// something (another command, a value with $ or `) is returned in `skipped`. Only unconditional
// top-level exports count: lines inside if/case/for/while/until, { } or ( ) groups and function
// bodies run only sometimes (or never), so they are skipped too.
struct ActivationExports {
  std::vector<NameValue> variables;
  std::vector<std::string> skipped;
  std::vector<std::size_t> skipped_lines;  // the 1-based line number of each skipped line
};
ActivationExports parse_activation_script(std::string_view script, std::string_view prefix);

// "linux-64" -> linux/amd64, "linux-aarch64" -> linux/arm64/v8, "linux-ppc64le" -> linux/ppc64le.
Result<oci::Platform> image_platform(std::string_view conda_platform);

}  // namespace de::build
