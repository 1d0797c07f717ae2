// The inputs of a build, turned into what to build: an environment file (an @EXPLICIT file as
// `conda list --explicit` and conda-lock render it, a conda-lock v1 file, or an environment.yml
// whose `image:` section declares the image, see image_spec.hpp), match specs and channels to
// solve, a lock for an environment.yml (--lock), an existing environment (--from-prefix), and
// overrides of every key of the image section, become the image spec, the target
// platforms, the destination and, for each platform, the exact packages; build_environment()
// then builds one image per platform and writes or pushes them.
//
// This is the whole of `docker-envs build` below its flag parsing and printing. Nothing here reads
// argv or the process environment: what depends on it (how specs become a solve request with
// ${VAR} channels and CONDA_OVERRIDE_*, registry credentials, the cache root) is passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/build/build_record.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/build/shared_cache.hpp"
#include "docker_envs/build/image_spec.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/registry/client.hpp"

namespace de::build {

// Overrides of the image: section, as text (the command line's flags); empty/0 = not given.
struct ImageOverrides {
  std::string name;                    // NAME[:TAG] (image.name)
  std::string base;                    // image.base
  std::string prefix;                  // image.prefix
  std::string workdir;                 // image.workdir
  std::string user;                    // "UID:GID" (image.user)
  std::string entrypoint;              // a JSON array of strings, or one string (image.entrypoint)
  std::string cmd;                     // as entrypoint (image.cmd)
  std::string layering;                // auto | per-package | single (image.layering.strategy)
  std::vector<std::string> platforms;  // conda platforms (image.platforms)
  std::vector<std::string> env;        // NAME=VALUE (image.env, appended)
  std::vector<std::string> labels;     // KEY=VALUE (image.labels, appended)
  std::vector<std::string> files;      // SRC[:DEST] (image.files, appended)
  std::size_t max_layers = 0;          // image.layering.max_layers
};

struct InputOptions {
  // An @EXPLICIT, conda-lock or environment.yml file. Empty: ./environment.yml unless `specs`.
  std::string env_file;
  std::vector<std::string> specs;     // match specs to solve (with or instead of env_file)
  std::vector<std::string> channels;  // channels for the solve (before the file's)
  ImageOverrides image;
  // The destination: a transport reference or docker://REF. Empty: default_destination().
  std::string output;
  std::string compression;  // gzip (default), zstd, none; docker-archive is always none
  // Which environment and categories of a conda-lock or pixi lock (its platform is ignored: each
  // target platform is selected in turn).
  conda::LockSelection lock;
  // --lock: the packages come from this lock file (any format parse_lockfile reads), the name,
  // variables and image section from env_file (an environment.yml, not solved).
  std::string lock_file;
  bool locked = false;  // --locked: a lock that is stale, or cannot be checked, is an error
  // --from-prefix: the packages are the records of this existing environment (env_file unused).
  std::string from_prefix;
  // --offline: no network at all: repodata from its cache whatever its age, packages from the
  // package cache; what is missing is listed before any other work.
  bool offline = false;
};

// What the inputs say, checked before any download or solve.
struct BuildInputs {
  EnvironmentImageFile declared;  // name, variables and image: section, with the overrides applied
  std::string env_file;           // the file read ("" with specs only)
  bool solve = false;             // the packages come from solving specs
  std::string solve_file;         // the environment.yml to solve ("" with specs only)
  std::optional<std::string>
      lock_text;  // a conda-lock or pixi lock, or --lock's (read per platform)
  std::vector<conda::PackageRecord> packages;  // an @EXPLICIT file's packages
  std::vector<std::string> platforms;          // conda platforms, at least one
  std::string image_name, image_tag;           // of the image (NAME, TAG defaulting to latest)
  std::string destination;
  Compression compression = Compression::Gzip;  // of the layers (None for a docker-archive)
  std::optional<Owner> owner;                   // image.user, parsed
  std::string base = "debian:bookworm-slim";
  Digest spec_hash;       // of the environment file's text and the specs/channels
  std::string lock_file;  // with --lock: the lock read per platform from lock_text
  bool locked = false;
  bool offline = false;
  std::vector<std::string> warnings;  // found while reading the inputs (unowned prefix files)

  bool multi() const { return platforms.size() > 1; }
};

// Reads the environment file and applies the overrides: InvalidArgument for a usage problem (a
// lock with -p/-c, -c without specs, a lock for another platform than asked, a docker-archive for
// several platforms, a malformed override), naming the file or flag.
Result<BuildInputs> resolve_inputs(const InputOptions& options);

// Where a build of image NAME:TAG goes without -o: docker-archive:NAME.tar for the tag `latest`,
// docker-archive:NAME-TAG.tar for another tag (so that two tags never overwrite each other), each
// tagged NAME:TAG inside; oci:NAME:TAG for several platforms (one layout holds every tag). NAME is
// the last path component of the image name ("team/app" -> app).
std::string default_destination(const std::string& name, const std::string& tag, bool multi);

// True when the base image is read without a registry: scratch, a transport reference or an
// existing path (what read_base_image() reads locally).
bool base_is_local(const std::string& base);

// What a solve for one platform starts from: the file to solve (or none) and the specs/channels.
struct SolveInputs {
  std::string file;
  std::vector<std::string> specs, channels;
  std::string platform;
  bool offline = false;  // repodata only from its cache
};
struct SolveSetup {
  conda::EnvironmentSolveRequest request;
  std::optional<conda::EnvironmentSpec> spec;  // the environment file, when one was given
};
// Builds a solve request (channels with ${VAR} expanded, virtual package overrides, repodata
// cache): the front end's job, as it depends on the process environment.
using SolveRequestFn = std::function<Result<SolveSetup>(const SolveInputs&)>;

struct EnvironmentBuildOptions {
  InputOptions inputs;
  SolveRequestFn solve_request;  // required when there is something to solve
  std::string created_by;        // BuildRequest::created_by ("docker-envs build")
  // Registry options for docker:// base images and destinations, asked for only when needed.
  std::function<Result<registry::RegistryOptions>()> registry;
  std::filesystem::path cache_root;  // packages in cache_root/pkgs, layers in cache_root/layers
  unsigned parallelism = 4;
  std::optional<std::int64_t> source_date_epoch;
  std::function<std::unique_ptr<conda::Fetcher>()> make_fetcher;  // default conda::make_fetcher
  // ${VAR} values for an environment.yml's pip lines (index tokens); unset: none.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Stages "solve" (its summary: the packages), "fetch", "plan", "layers" (build_image), then
  // "write" or "push"; notes ("base image ... for linux-64", the lock check). Optional.
  progress::Reporter* reporter = nullptr;
  // Shared build caches (shared_cache.hpp): docker://REF or oci:DIR[:TAG]. --cache-from ones are
  // read before building (one that cannot be read is a warning); --cache-to ones get this build's
  // layers and images added once the image is written (one that cannot be written is a warning).
  std::vector<std::string> cache_from, cache_to;
};

// What became of one --cache-to cache.
struct SharedCacheWrite {
  std::string ref;               // as given (credentials redacted)
  std::optional<SharedCachePush> pushed;
  std::string error;             // why it was not written (a warning, not a failure)
};

struct EnvironmentBuildResult {
  BuildInputs inputs;                // image name, destination, platforms
  std::vector<BuildResult> results;  // one per platform, in inputs.platforms order
  Digest manifest_digest;            // the manifest, or the index for several platforms
  std::vector<Digest> manifests;     // each platform's image manifest
  std::vector<Digest> config_digests;
  std::optional<registry::PushResult> pushed;  // for a docker:// destination
  // Per platform: what changed since the last recorded build of the same environment
  // (build_record.hpp); nullopt for the first one (or when its record could not be read).
  std::vector<std::optional<BuildChanges>> changes;
  std::vector<SharedCache::Source> cache_from;  // each --cache-from cache: read, or why not
  std::vector<SharedCacheWrite> cache_to;
};

// resolve_inputs(), then per platform: its packages (the @EXPLICIT file's, the conda-lock's for
// that platform, or a solve against that platform's virtual packages), its base image (scratch, a
// transport reference or path, else a registry reference), build_image(); then writes the images
// (an index for several platforms) or pushes them. Warnings of each build are logged.
// Once written, each platform's build is compared with the last one recorded in
// cache_root/builds/ and recorded in its place (`changes`).
Result<EnvironmentBuildResult> build_environment(const EnvironmentBuildOptions& options);

// Which earlier builds count as the same environment as this one, for `platform`
// (build_record.hpp): the environment file or prefix, the image name, the platform.
BuildIdentity build_identity(const BuildInputs& inputs, const InputOptions& options,
                             const std::string& platform);

// What one platform installs.
struct PlatformPackages {
  std::vector<conda::PackageRecord> packages;  // install order
  // A lock's PyPI entries (wheels), in lock order, or the environment.yml pip section's wheels
  // (resolve_pip_section), by name. REQUESTED as requested_roots() says.
  std::vector<WheelToInstall> wheels;
};

// The packages of each platform (in inputs.platforms order): the @EXPLICIT file's or the
// prefix's, the lock's for that platform (checked against the environment file with --lock) with
// its PyPI entries (wheel_from_lock), or a solve, followed by the resolution of the environment
// file's pip section. Nothing is downloaded but repodata and PyPI project pages and metadata
// (none with --offline).
Result<std::vector<PlatformPackages>> resolve_packages(const EnvironmentBuildOptions& options,
                                                       BuildInputs& inputs);

// A lock's PyPI entry as a wheel to install: Unsupported, naming `lock_file` and the line, for a
// source distribution or tree (not a .whl), InvalidArgument without a sha256 (every download is
// verified). A path entry gets direct_url.json (PEP 610).
Result<WheelToInstall> wheel_from_lock(const conda::PypiLockEntry& entry,
                                       std::string_view lock_file);

// `build --dry-run`: what would be built, with nothing downloaded but repodata for a solve (and a
// registry base image's manifest and config, to count its layers; a registry out of reach is a
// warning) and nothing written but the repodata cache.
struct PlannedLayer {
  std::string label;                  // as the build labels it
  std::vector<std::string> packages;  // dist names; empty for the final environment-files layer
  bool bucket = false;                // a hash bucket of small packages (auto layering)
};
struct PlatformPlan {
  std::string platform;
  std::vector<conda::PackageRecord> packages;  // install order
  std::vector<bool> cached;  // per package: in the package cache or a local file already
  std::vector<WheelToInstall> wheels;  // a lock's PyPI entries
  std::vector<bool> wheels_cached;     // per wheel, as `cached`
  std::size_t base_layers = 0;
  bool base_known = true;  // false: a registry base could not be read (base_layers 0 assumed)
  // The package layers, planned with the archive sizes (the build uses the installed sizes, so
  // with auto layering a package near the big-package threshold may land elsewhere), then the
  // final environment-wide layer.
  std::vector<PlannedLayer> layers;
};
struct BuildPlan {
  BuildInputs inputs;
  std::vector<PlatformPlan> platforms;
};
Result<BuildPlan> plan_build(const EnvironmentBuildOptions& options);

// The base image `base` for a platform: "scratch", docker://REF, a transport reference or an
// existing path, else a registry reference ("debian:bookworm-slim").
Result<oci::Image> read_base_image(
    const std::string& base, const oci::Platform& platform,
    const std::function<Result<registry::RegistryOptions>()>& registry);

}  // namespace de::build
