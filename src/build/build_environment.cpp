// build_environment(): per platform, the packages, the base image and build_image(); then the
// images are written or pushed.
#include <nlohmann/json.hpp>

#include "docker_envs/base/log.hpp"
#include "docker_envs/build/inputs.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/oci/transport.hpp"

namespace de::build {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRegistryPrefix = "docker://";

bool is_registry_ref(std::string_view text) { return text.starts_with(kRegistryPrefix); }

Result<registry::Reference> registry_ref(std::string_view text) {
  if (is_registry_ref(text)) text.remove_prefix(kRegistryPrefix.size());
  return registry::Reference::parse(text);
}

using RegistryOptionsFn = std::function<Result<registry::RegistryOptions>()>;

Result<registry::RegistryOptions> registry_options(const RegistryOptionsFn& fn) {
  if (!fn) return registry::RegistryOptions{};
  return fn();
}

Result<oci::Image> pull_base(std::string_view text, const oci::Platform& platform,
                             const RegistryOptionsFn& registry) {
  auto ref = DE_TRY(registry_ref(text));
  auto options = DE_TRY(registry_options(registry));
  auto pulled =
      DE_TRY(registry::pull_image(ref, options, {.platform = platform, .fetch_layers = false}));
  return std::move(pulled.image);
}

void say(const EnvironmentBuildOptions& o, const std::string& line) {
  if (o.status) o.status(line);
}

// The packages for one platform: the @EXPLICIT file's, the lock's, or a solve.
Result<std::vector<conda::PackageRecord>> packages_for(const EnvironmentBuildOptions& o,
                                                       BuildInputs& in,
                                                       const std::string& target) {
  // An @EXPLICIT file is for one platform: its packages are used once.
  std::vector<conda::PackageRecord> packages = std::move(in.packages);
  if (in.lock_text) {
    auto lock = DE_TRY(conda::parse_conda_lock(*in.lock_text, in.env_file, {.platform = target}));
    packages = std::move(lock.packages);
  }
  if (!in.solve) return packages;
  if (!o.solve_request)
    return fail(Code::InvalidArgument, "building for {}: no way to make a solve request", target);
  auto request = DE_TRY(o.solve_request({.file = in.solve_file,
                                         .specs = o.inputs.specs,
                                         .channels = o.inputs.channels,
                                         .platform = target}));
  if (request.request.specs.empty())
    return fail(Code::InvalidArgument, "{}: no dependencies to install",
                in.solve_file.empty() ? std::string("-p") : in.solve_file);
  say(o, fmt::format("solving {} spec(s) for {} from {} channel(s)", request.request.specs.size(),
                     target, request.request.channels.size()));
  auto solve_fetcher = o.make_fetcher ? o.make_fetcher() : conda::make_fetcher();
  auto outcome = DE_TRY_CTX(conda::solve_environment(request.request, *solve_fetcher),
                            "solving for " + target);
  if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
    return fail(Code::Unsatisfiable, "the environment cannot be solved for {}: {}", target,
                unsolvable->explanation);
  if (request.spec) {
    if (in.declared.name.empty()) in.declared.name = request.spec->name;
    if (in.declared.variables.empty()) in.declared.variables = request.spec->variables;
  }
  return std::move(std::get<conda::Solution>(outcome).packages);
}

// Writes (or pushes) the images of `out.results` to the destination.
Status write_images(const EnvironmentBuildOptions& o, EnvironmentBuildResult& out) {
  const BuildInputs& in = out.inputs;
  const std::string& dest = in.destination;
  for (const auto& r : out.results) out.config_digests.push_back(Digest::of(r.image.config_bytes()));
  std::vector<oci::Image> images;
  for (const auto& r : out.results) images.push_back(r.image);
  if (is_registry_ref(dest)) {
    auto ref = DE_TRY(registry_ref(dest));
    auto options = DE_TRY(registry_options(o.registry));
    registry::PushOptions push{
        .compression = in.compression == Compression::None ? Compression::Gzip : in.compression};
    // Several platforms: OCI manifests under an OCI image index, the same bytes (and digests) as
    // -o oci:DIR writes (docs/build.md says why not a Docker manifest list).
    if (in.multi()) push.format = registry::ManifestFormat::Oci;
    out.pushed = DE_TRY_CTX(in.multi() ? registry::push_index(images, ref, options, push)
                                       : registry::push_image(images.front(), ref, options, push),
                            fmt::format("pushing {}", dest));
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
  return {};
}

}  // namespace

Result<oci::Image> read_base_image(const std::string& base, const oci::Platform& platform,
                                   const RegistryOptionsFn& registry) {
  if (base == "scratch") return oci::scratch_image();
  if (is_registry_ref(base))
    return DE_TRY_CTX(pull_base(base, platform, registry), "base image " + base);
  std::error_code ec;
  if (base.starts_with("docker-archive:") || base.starts_with("oci:") ||
      base.starts_with("oci-archive:") || fs::exists(base, ec)) {
    auto read = [&]() -> Result<oci::Image> {
      auto ref = DE_TRY_CTX(oci::ImageRef::parse(base), fmt::format("source '{}'", base));
      return DE_TRY_CTX(oci::read_image(ref), fmt::format("reading {}", base));
    };
    return DE_TRY_CTX(read(), "base image " + base);
  }
  return DE_TRY_CTX(pull_base(base, platform, registry), "base image " + base);
}

Result<EnvironmentBuildResult> build_environment(const EnvironmentBuildOptions& o) {
  EnvironmentBuildResult out;
  out.inputs = DE_TRY(resolve_inputs(o.inputs));
  BuildInputs& in = out.inputs;
  const ImageSpec& spec = in.declared.image;
  auto fetcher = o.make_fetcher ? o.make_fetcher() : conda::make_fetcher();

  // One image per platform: solve (each against its own virtual packages), base, build.
  for (const auto& target : in.platforms) {
    auto packages = DE_TRY(packages_for(o, in, target));
    say(o, "base image " + in.base + " for " + target);
    auto platform = DE_TRY(image_platform(target));
    auto base_image = DE_TRY(read_base_image(in.base, platform, o.registry));
    BuildRequest request{
        .packages = std::move(packages),
        .base = std::move(base_image),
        .environment_name = in.declared.name.empty() ? in.image_name : in.declared.name,
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
        .parallelism = std::max(1u, o.parallelism),
        .progress = o.progress,
    };
    auto built = DE_TRY_CTX(build_image(request),
                            in.multi() ? "building for " + target : std::string("building"));
    for (const auto& w : built.warnings) log::warn("{}", w);
    out.results.push_back(std::move(built));
  }
  DE_TRY(write_images(o, out));
  return out;
}

}  // namespace de::build
