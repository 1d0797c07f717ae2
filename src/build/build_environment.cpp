// build_environment(): per platform, the packages, the base image and build_image(); then the
// images are written or pushed.
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "build/registry_ref.hpp"
#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/build/inputs.hpp"
#include "docker_envs/build/lock_check.hpp"
#include "docker_envs/build/offline.hpp"
#include "docker_envs/build/pip_section.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/lock_hash.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_blob.hpp"

namespace de::build {

namespace {

namespace fs = std::filesystem;

using detail::is_registry_ref;
using detail::registry_options;
using detail::registry_ref;
using detail::RegistryOptionsFn;

Result<oci::Image> pull_base(std::string_view text, const oci::Platform& platform,
                             const RegistryOptionsFn& registry) {
  auto ref = DE_TRY(registry_ref(text));
  auto options = DE_TRY(registry_options(registry));
  auto pulled =
      DE_TRY(registry::pull_image(ref, options, {.platform = platform, .fetch_layers = false}));
  return std::move(pulled.image);
}

void say(const EnvironmentBuildOptions& o, std::string_view stage, const std::string& line) {
  progress::emit(o.reporter, {.kind = progress::Kind::Note, .stage = stage, .detail = line});
}

std::unique_ptr<conda::Fetcher> fetcher_for(const EnvironmentBuildOptions& o, bool offline) {
  auto fetcher = o.make_fetcher ? o.make_fetcher() : conda::make_fetcher();
  return offline ? make_offline_fetcher(std::move(fetcher)) : std::move(fetcher);
}

// The pip lines of an environment file, as written (what a lock's content hash covers).
std::vector<std::string> pip_lines(const std::optional<conda::EnvironmentSpec>& spec) {
  std::vector<std::string> out;
  if (spec)
    for (const auto& item : spec->pip) out.push_back(item.text);
  return out;
}

// --lock: is the lock still what the environment file asks for (for this platform)?
Status check_lock_for(const EnvironmentBuildOptions& o, const BuildInputs& in,
                      const std::string& target) {
  auto expected_hash = [&]() -> Result<std::string> {
    if (!o.solve_request)
      return fail(Code::InvalidArgument, "no way to make a solve request for {}", in.env_file);
    auto setup =
        DE_TRY(o.solve_request({.file = in.env_file, .platform = target, .offline = in.offline}));
    return conda::solve_request_hash(setup.request, pip_lines(setup.spec));
  };
  auto check =
      DE_TRY(check_lock(*in.lock_text, in.lock_file, in.env_file, target, expected_hash));
  switch (check.state) {
    case LockCheck::State::Fresh:
      say(o, "lock", check.message);
      return {};
    case LockCheck::State::Stale:
      if (in.locked) return fail(Code::InvalidArgument, "--locked: {}", check.message);
      log::warn("{}", check.message);
      return {};
    case LockCheck::State::Unverifiable:
      if (in.locked)
        return fail(Code::InvalidArgument,
                    "--locked: {} (--locked needs a lock written by `docker-envs lock "
                    "--format conda-lock`)",
                    check.message);
      log::info("notice: {}", check.message);
      return {};
  }
  return {};
}

// The packages for one platform: the @EXPLICIT file's or the prefix's, the lock's (with its PyPI
// wheels), or a solve.
Result<PlatformPackages> packages_for(const EnvironmentBuildOptions& o, BuildInputs& in,
                                      const std::string& target) {
  // An @EXPLICIT file or a prefix is for one platform: its packages are used once.
  PlatformPackages out{.packages = std::move(in.packages)};
  if (in.lock_text) {
    const std::string& what = in.lock_file.empty() ? in.env_file : in.lock_file;
    conda::LockSelection selection = o.inputs.lock;
    selection.platform = target;
    selection.pypi = true;
    auto lock = DE_TRY(conda::parse_lockfile(*in.lock_text, what, selection));
    out.packages = std::move(lock.packages);
    auto roots = requested_roots(lock.pypi);
    for (std::size_t i = 0; i < lock.pypi.size(); ++i) {
      out.wheels.push_back(DE_TRY(wheel_from_lock(lock.pypi[i], what)));
      out.wheels.back().requested = roots[i];
    }
    if (!in.lock_file.empty()) DE_TRY(check_lock_for(o, in, target));
  }
  if (!in.solve) return out;
  if (!o.solve_request)
    return fail(Code::InvalidArgument, "building for {}: no way to make a solve request", target);
  auto request = DE_TRY(o.solve_request({.file = in.solve_file,
                                         .specs = o.inputs.specs,
                                         .channels = o.inputs.channels,
                                         .platform = target,
                                         .offline = in.offline}));
  if (request.request.specs.empty())
    return fail(Code::InvalidArgument, "{}: no dependencies to install",
                in.solve_file.empty() ? std::string("-p") : in.solve_file);
  progress::emit(o.reporter,
                 {.kind = progress::Kind::StageStart,
                  .stage = "solve",
                  .detail = fmt::format("{} spec(s) for {} from {} channel(s){}",
                                        request.request.specs.size(), target,
                                        request.request.channels.size(),
                                        in.offline ? " (offline: cached repodata)" : "")});
  auto solve_fetcher = fetcher_for(o, in.offline);
  auto outcome = DE_TRY_CTX(conda::solve_environment(request.request, *solve_fetcher),
                            "solving for " + target);
  if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
    return fail(Code::Unsatisfiable, "the environment cannot be solved for {}: {}", target,
                unsolvable->explanation);
  const auto& solved = std::get<conda::Solution>(outcome).packages;
  progress::emit(o.reporter, {.kind = progress::Kind::StageEnd,
                              .stage = "solve",
                              .detail = fmt::format("{} package(s) for {}", solved.size(), target)});
  if (request.spec) {
    if (in.declared.name.empty()) in.declared.name = request.spec->name;
    if (in.declared.variables.empty()) in.declared.variables = request.spec->variables;
  }
  out.packages = std::move(std::get<conda::Solution>(outcome).packages);
  if (request.spec && !request.spec->pip.empty()) {
    auto pip = DE_TRY(resolve_pip_section(*request.spec, out.packages, target,
                                          request.request.virtual_overrides,
                                          {.cache_root = o.cache_root,
                                           .getenv = o.getenv,
                                           .offline = in.offline,
                                           .extra_ca_file = {},
                                           .reporter = o.reporter}));
    out.wheels = std::move(pip.wheels);
  }
  return out;
}

// Writes (or pushes) the images of `out.results` to the destination.
Status write_images(const EnvironmentBuildOptions& o, EnvironmentBuildResult& out,
                    const SharedCache* shared) {
  const BuildInputs& in = out.inputs;
  const std::string& dest = in.destination;
  for (const auto& r : out.results)
    out.config_digests.push_back(Digest::of(r.image.config_bytes()));
  std::vector<oci::Image> images;
  for (const auto& r : out.results) images.push_back(r.image);
  const std::string_view stage = is_registry_ref(dest) ? "push" : "write";
  progress::emit(o.reporter,
                 {.kind = progress::Kind::StageStart, .stage = stage, .detail = redact_reference(dest)});
  if (is_registry_ref(dest)) {
    auto ref = DE_TRY(registry_ref(dest));
    auto options = DE_TRY(registry_options(o.registry));
    if (!options.progress) options.progress = registry::report_blobs(o.reporter, "push", "uploaded");
    registry::PushOptions push{
        .compression = in.compression == Compression::None ? Compression::Gzip : in.compression};
    // Layers that came from a shared cache in this registry are mounted from it, not uploaded.
    if (shared) {
      push.mount_from = shared->repositories_on(ref.domain);
      push.mountable = shared->blobs_on(ref.domain);
    }
    // Several platforms: OCI manifests under an OCI image index, the same bytes (and digests) as
    // -o oci:DIR writes (docs/build.md says why not a Docker manifest list).
    if (in.multi()) push.format = registry::ManifestFormat::Oci;
    out.pushed = DE_TRY_CTX(in.multi() ? registry::push_index(images, ref, options, push)
                                       : registry::push_image(images.front(), ref, options, push),
                            fmt::format("pushing {}", redact_reference(dest)));
    out.manifest_digest = out.pushed->manifest_digest;
    out.manifests = out.pushed->manifests;
  } else {
    auto ref = DE_TRY_CTX(oci::ImageRef::parse(dest), fmt::format("destination '{}'", dest));
    if (ref.transport == oci::Transport::DockerArchive && ref.selector.empty())
      ref.selector = in.image_name + ":" + in.image_tag;
    oci::WriteResult written;
    if (in.multi()) {
      written = DE_TRY_CTX(oci::write_image_index(images, ref, {.compression = in.compression}),
                           fmt::format("writing {}", dest));
    } else {
      written = DE_TRY_CTX(oci::write_image(images.front(), ref, {.compression = in.compression}),
                           fmt::format("writing {}", dest));
      out.config_digests.front() = written.config_digest;
    }
    out.manifest_digest = written.manifest_digest;
    out.manifests = written.manifests;
  }
  if (out.manifests.size() != out.results.size())
    return fail(Code::Internal, "{}: {} manifest(s) written for {} platform(s)", dest,
                out.manifests.size(), out.results.size());
  progress::emit(o.reporter, {.kind = progress::Kind::StageEnd,
                              .stage = stage,
                              .detail = fmt::format("{} {}", in.multi() ? "index" : "manifest",
                                                    out.manifest_digest.to_string())});
  return {};
}

// A local output reads every layer: the ones from a shared cache are downloaded first, all at
// once, rather than one by one as the writer reaches them, and kept in the layer cache (the next
// build here finds them without the shared cache).
Status fetch_shared_layers(const EnvironmentBuildOptions& o, EnvironmentBuildResult& out,
                           const SharedCache& shared) {
  std::vector<oci::Descriptor> remote;
  for (const auto& r : out.results)
    for (const auto& l : r.layers)
      if (l.shared) remote.push_back(l.blob);
  if (remote.empty()) return {};
  DE_TRY_CTX(shared.prefetch(remote), "downloading layers from the shared cache");
  const LayerCache layer_cache(o.cache_root / "layers");
  for (auto& r : out.results)
    for (size_t k = 0; k < r.layers.size(); ++k) {
      const auto& l = r.layers[k];
      if (!l.shared) continue;
      auto& image_layer = r.image.layers[r.base_layers + k];
      auto kept = layer_cache.adopt(l.key, {.layer = image_layer,
                                            .blob = l.blob,
                                            .diff_id = l.diff_id,
                                            .tar_size = l.tar_size});
      if (!kept) {
        log::debug("layer {}: not kept in the layer cache: {}", l.label, kept.error().to_string());
        continue;
      }
      image_layer = kept->layer;  // the writer may hard-link it from there
    }
  return {};
}

// --cache-to: this build's layers and images added to each cache. A cache that cannot be written
// is a warning: the image is written already.
void write_shared_caches(
    const EnvironmentBuildOptions& o, EnvironmentBuildResult& out,
    std::span<const SharedCacheRef> refs, const SharedCache& shared,
    const std::function<const SharedCacheIndex*(const SharedCacheRef&)>& index_of_target) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  SharedCacheIndex entries;
  std::map<Digest, oci::LayerPtr> built;  // blob digest -> this build's layer
  for (size_t i = 0; i < out.results.size(); ++i) {
    const auto& r = out.results[i];
    entries.merge(shared_cache_entries(r, out.inputs.platforms[i], now));
    for (size_t k = 0; k < r.layers.size(); ++k)
      built.emplace(r.layers[k].blob.digest, r.image.layers[r.base_layers + k]);
  }
  // The plans' bytes, for the bundle each push makes of those its cache lacks: described (and
  // hashed) once, by shared_cache_entries; read from the results, which outlive the pushes.
  for (const auto& r : out.results)
    for (const auto& p : r.plans) {
      auto entry = entries.plans.find(p.key);
      if (entry == entries.plans.end()) continue;  // beyond what a cache keeps
      const oci::Descriptor& blob = entry->second.blob;
      const std::string* bytes = &p.blob;
      built.emplace(blob.digest,
                    oci::stored_blob_layer(
                        blob, std::nullopt,
                        [bytes]() -> Result<std::unique_ptr<Reader>> {
                          return std::unique_ptr<Reader>(std::make_unique<StringReader>(*bytes));
                        },
                        "a package plan"));
    }
  // The bytes of this build's blobs; the cache's other blobs are in its repository already.
  auto blob_layer = [&](const oci::Descriptor& blob) -> oci::LayerPtr {
    auto it = built.find(blob.digest);
    return it == built.end() ? nullptr : it->second;
  };
  const std::string& dest = out.inputs.destination;
  for (const auto& ref : refs) {
    SharedCacheWrite write{.ref = redact_reference(ref.text)};
    std::vector<std::string> mount_from;
    if (ref.registry) {
      const std::string& domain = ref.reference->domain;
      if (is_registry_ref(dest))
        if (auto d = registry_ref(dest); d && d->domain == domain)
          mount_from.push_back(d->repository);
      for (auto& repo : shared.repositories_on(domain))
        if (std::find(mount_from.begin(), mount_from.end(), repo) == mount_from.end())
          mount_from.push_back(repo);
    }
    progress::emit(o.reporter, {.kind = progress::Kind::StageStart,
                                .stage = "cache",
                                .detail = "shared cache " + write.ref});
    auto pushed = push_shared_cache(ref, entries, index_of_target(ref), blob_layer,
                                    std::move(mount_from), o.registry);
    if (pushed) {
      write.pushed = *pushed;
      progress::emit(o.reporter,
                     {.kind = progress::Kind::StageEnd,
                      .stage = "cache",
                      .detail = fmt::format("{}: {} image(s), {} layer(s); {} blob(s) uploaded "
                                            "({}), {} mounted, {} already there",
                                            write.ref, pushed->images, pushed->layers,
                                            pushed->blobs_uploaded,
                                            progress::human_bytes(pushed->bytes_uploaded),
                                            pushed->blobs_mounted, pushed->blobs_skipped)});
    } else {
      write.error = pushed.error().to_string();
      log::warn("cache {}: not written: {}", write.ref, write.error);
      progress::emit(o.reporter, {.kind = progress::Kind::StageEnd,
                                  .stage = "cache",
                                  .detail = write.ref + ": not written"});
    }
    out.cache_to.push_back(std::move(write));
  }
}

std::vector<RecordedPackage> recorded_packages(const PlatformPackages& p) {
  std::vector<RecordedPackage> out;
  for (const auto& r : p.packages)
    out.push_back({.name = r.name, .version = r.version, .build = r.build, .channel = r.channel});
  for (const auto& w : p.wheels) out.push_back({.name = w.name, .version = w.version, .pypi = true});
  return out;
}

// Compares each platform's build with the last recorded one and records it in its place. A record
// that cannot be read or written is a -v note: it never fails a build that has been written.
void record_builds(const EnvironmentBuildOptions& o, EnvironmentBuildResult& out,
                   std::vector<std::vector<RecordedPackage>> packages) {
  const BuildInputs& in = out.inputs;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (size_t i = 0; i < out.results.size(); ++i) {
    BuildRecord record{.identity = build_identity(in, o.inputs, in.platforms[i]),
                       .tag = in.image_tag,
                       .manifest_digest = out.manifests[i].to_string(),
                       .written = now,
                       .packages = std::move(packages[i])};
    for (const auto& l : out.results[i].layers)
      record.layers.push_back(
          {.label = l.label, .key = l.key, .digest = l.blob.digest, .reused = l.reused});
    std::optional<BuildChanges> changes;
    if (auto previous = read_build_record(o.cache_root, record.identity); !previous)
      log::debug("ignoring the last build record: {}", previous.error().to_string());
    else if (*previous)
      changes = diff_builds(**previous, record);
    else
      log::debug("no earlier build of {} for {} recorded", record.identity.source,
                 in.platforms[i]);
    if (auto written = write_build_record(o.cache_root, record); !written)
      log::debug("not recorded: {}", written.error().to_string());
    out.changes.push_back(std::move(changes));
  }
}

}  // namespace

BuildIdentity build_identity(const BuildInputs& in, const InputOptions& options,
                             const std::string& platform) {
  auto canonical = [](const std::string& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    return ec ? path : p.string();
  };
  std::string source = !options.from_prefix.empty() ? "prefix:" + canonical(options.from_prefix)
                       : !in.env_file.empty()       ? "file:" + canonical(in.env_file)
                                                    : std::string("specs");
  return {.source = std::move(source), .image = in.image_name, .platform = platform};
}

Result<oci::Image> read_base_image(const std::string& base, const oci::Platform& platform,
                                   const RegistryOptionsFn& registry) {
  if (base == "scratch") return oci::scratch_image();
  if (is_registry_ref(base))
    return DE_TRY_CTX(pull_base(base, platform, registry), "base image " + redact_reference(base));
  if (base_is_local(base)) {
    auto read = [&]() -> Result<oci::Image> {
      auto ref = DE_TRY_CTX(oci::ImageRef::parse(base), fmt::format("source '{}'", base));
      // From a multi-platform base (an index), the image of the platform being built.
      return DE_TRY_CTX(oci::read_image(ref, {.platform = platform}),
                        fmt::format("reading {}", base));
    };
    return DE_TRY_CTX(read(), "base image " + base);
  }
  return DE_TRY_CTX(pull_base(base, platform, registry), "base image " + redact_reference(base));
}

Result<WheelToInstall> wheel_from_lock(const conda::PypiLockEntry& entry,
                                       std::string_view lock_file) {
  std::string_view location = entry.location;
  location = location.substr(0, location.find_first_of("?#"));
  if (!location.ends_with(".whl"))
    return fail(Code::Unsupported,
                "{}:{}: pypi package {} is a source distribution or tree ('{}'), not a wheel: "
                "building it would run its build backend; lock a wheel of it instead",
                lock_file, entry.line, entry.name, conda::redact_url(entry.location));
  if (!entry.sha256)
    return fail(Code::InvalidArgument,
                "{}:{}: pypi package {} has no sha256 (every download is verified)", lock_file,
                entry.line, entry.name);
  return WheelToInstall{.name = entry.name,
                        .version = entry.version,
                        .url = entry.url,
                        .sha256 = *entry.sha256,
                        .direct_url = entry.direct ||
                                      entry.location.find("://") == std::string::npos};
}

Result<std::vector<PlatformPackages>> resolve_packages(const EnvironmentBuildOptions& o,
                                                       BuildInputs& in) {
  std::vector<PlatformPackages> out;
  for (const auto& target : in.platforms) out.push_back(DE_TRY(packages_for(o, in, target)));
  return out;
}

Result<EnvironmentBuildResult> build_environment(const EnvironmentBuildOptions& o) {
  // Held until the build is written: `cache prune` leaves alone what this build uses.
  std::optional<CacheLease> lease;
  if (auto taken = CacheLease::acquire(o.cache_root))
    lease = std::move(*taken);
  else
    log::debug("no cache lease: {}", taken.error().to_string());
  EnvironmentBuildResult out;
  // The caches' references first: a malformed one is an error before any work.
  std::vector<SharedCacheRef> cache_from, cache_to;
  for (const auto& text : o.cache_from) cache_from.push_back(DE_TRY(SharedCacheRef::parse(text)));
  for (const auto& text : o.cache_to) cache_to.push_back(DE_TRY(SharedCacheRef::parse(text)));
  out.inputs = DE_TRY(resolve_inputs(o.inputs));
  BuildInputs& in = out.inputs;
  if (in.offline)
    for (const auto* refs : {&cache_from, &cache_to})
      for (const auto& ref : *refs)
        if (ref.registry)
          return fail(Code::InvalidArgument,
                      "--offline: the shared cache {} is in a registry; use an oci: cache, or "
                      "build without --offline",
                      redact_reference(ref.text));
  for (const auto& w : in.warnings) log::warn("{}", w);
  const ImageSpec& spec = in.declared.image;
  auto fetcher = fetcher_for(o, in.offline);
  // Every platform's packages first (each solved against its own virtual packages), so that
  // --offline names everything missing before any other work.
  auto per_platform = DE_TRY(resolve_packages(o, in));
  if (in.offline) {
    std::vector<conda::PackageRecord> all;
    for (const auto& p : per_platform) all.insert(all.end(), p.packages.begin(), p.packages.end());
    DE_TRY(check_offline(all, o.cache_root / "pkgs", *fetcher));
  }

  std::vector<std::vector<RecordedPackage>> recorded;
  for (const auto& p : per_platform) recorded.push_back(recorded_packages(p));
  SharedCache shared;
  if (!cache_from.empty()) {
    say(o, "cache", fmt::format("reading {} shared cache(s)", cache_from.size()));
    shared = SharedCache::load(cache_from, o.registry);
    out.cache_from = shared.sources();
  }
  // The --cache-to targets not read as --cache-from, read now: the plans they lack decide whether
  // a whole-image hit still plans, to export them (BuildRequest::plan_missing), and their pushes
  // start from these indexes. One that cannot be read lacks everything; its push says why.
  std::vector<SharedCacheRef> unread_targets;
  for (const auto& ref : cache_to)
    if (!shared.index_of(ref)) unread_targets.push_back(ref);
  SharedCache targets;
  if (!unread_targets.empty()) targets = SharedCache::load(unread_targets, o.registry, false);
  auto index_of_target = [&](const SharedCacheRef& ref) {
    const SharedCacheIndex* index = shared.index_of(ref);
    return index ? index : targets.index_of(ref);
  };
  auto plan_missing = [&](const Digest& key) {
    return std::any_of(cache_to.begin(), cache_to.end(), [&](const SharedCacheRef& ref) {
      const SharedCacheIndex* index = index_of_target(ref);
      return !index || !index->plans.contains(key);
    });
  };

  // One image per platform: base, build.
  for (size_t i = 0; i < in.platforms.size(); ++i) {
    const std::string& target = in.platforms[i];
    auto packages = std::move(per_platform[i].packages);
    auto wheels = std::move(per_platform[i].wheels);
    say(o, "base", "base image " + redact_reference(in.base) + " for " + target);
    auto platform = DE_TRY(image_platform(target));
    auto base_image = DE_TRY(read_base_image(in.base, platform, o.registry));
    BuildRequest request{
        .packages = std::move(packages),
        .wheels = std::move(wheels),
        .base = std::move(base_image),
        .environment_name = in.declared.name.empty() ? in.image_name : in.declared.name,
        .created_by = o.created_by,
        .prefix = spec.prefix.value_or("/opt/conda"),
        .platform = target,
        .owner = in.owner,
        .user = spec.user,
        .entrypoint = spec.entrypoint,
        .cmd = spec.cmd,
        .workdir = spec.workdir,
        .variables = in.declared.variables,
        .env = spec.env,
        .labels = spec.labels,
        .files = spec.files,
        .strategy = spec.strategy.value_or(LayerStrategy::Auto),
        .max_layers = spec.max_layers.value_or(64),
        .compression = in.compression,
        .source_date_epoch = o.source_date_epoch,
        .spec_hash = in.spec_hash.to_string(),
        .package_cache = o.cache_root / "pkgs",
        .layer_cache = o.cache_root / "layers",
        .fetcher = fetcher.get(),
        .shared_cache = shared.empty() ? nullptr : &shared,
        .export_plans = !cache_to.empty(),
        .plan_missing = plan_missing,
        .parallelism = std::max(1u, o.parallelism),
        .reporter = o.reporter,
    };
    auto built = DE_TRY_CTX(build_image(request),
                            in.multi() ? "building for " + target : std::string("building"));
    for (const auto& w : built.warnings) log::warn("{}", w);
    out.results.push_back(std::move(built));
  }
  if (!shared.empty() && !is_registry_ref(in.destination))
    DE_TRY(fetch_shared_layers(o, out, shared));
  DE_TRY(write_images(o, out, shared.empty() ? nullptr : &shared));
  record_builds(o, out, std::move(recorded));
  if (!cache_to.empty()) write_shared_caches(o, out, cache_to, shared, index_of_target);
  return out;
}

}  // namespace de::build
