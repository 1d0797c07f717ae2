// plan_build(): `build --dry-run`, the packages and layers a build would make.
#include "build/wheel_layers.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/build/inputs.hpp"
#include "docker_envs/build/offline.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"

namespace de::build {

namespace {

Result<std::vector<PlannedLayer>> plan_platform_layers(
    const std::vector<conda::PackageRecord>& packages, const std::vector<WheelToInstall>& wheels,
    const ImageSpec& spec, std::size_t base_layers) {
  std::vector<PlannedPackage> sizes;
  for (const auto& p : packages) sizes.push_back({p.name, p.size.value_or(0)});
  const auto strategy = spec.strategy.value_or(LayerStrategy::Auto);
  const std::size_t max_layers = spec.max_layers.value_or(64);
  const std::size_t wheel_budget = detail::wheel_layer_budget(wheels.size(), max_layers);
  auto groups = DE_TRY(plan_layers(sizes, {.strategy = strategy,
                                           .max_layers = max_layers - wheel_budget,
                                           .base_layers = base_layers}));
  std::vector<PlannedLayer> out;
  for (const auto& g : groups) {
    PlannedLayer layer{.bucket = g.bucket};
    for (std::size_t i : g.packages) layer.packages.push_back(packages[i].dist_name());
    layer.label = layer.packages.size() == 1 ? layer.packages.front()
                                             : fmt::format("{} packages: {}", layer.packages.size(),
                                                           fmt::join(layer.packages, ", "));
    out.push_back(std::move(layer));
  }
  // The wheels' sizes are not in the lock: planned as small (the build knows them).
  std::vector<PlannedPackage> wheel_sizes;
  for (const auto& w : wheels) wheel_sizes.push_back({w.name, 0});
  const std::size_t below = base_layers + groups.size();
  auto wheel_groups = DE_TRY(plan_layers(
      wheel_sizes,
      {.strategy = strategy, .max_layers = below + wheel_budget + 1, .base_layers = below}));
  for (const auto& g : wheel_groups) {
    PlannedLayer layer{.bucket = g.bucket};
    for (std::size_t i : g.packages)
      layer.packages.push_back(wheels[i].name + "-" + wheels[i].version);
    layer.label = detail::wheel_layer_label(layer.packages);
    out.push_back(std::move(layer));
  }
  out.push_back({.label = "environment files (conda-meta/history" +
                          std::string(spec.files.empty() ? ")" : ", added files)")});
  return out;
}

}  // namespace

Result<BuildPlan> plan_build(const EnvironmentBuildOptions& o) {
  BuildPlan plan;
  plan.inputs = DE_TRY(resolve_inputs(o.inputs));
  BuildInputs& in = plan.inputs;
  for (const auto& w : in.warnings) log::warn("{}", w);
  auto per_platform = DE_TRY(resolve_packages(o, in));
  // Only asked whether each package is at hand: never fetched.
  auto fetcher = make_offline_fetcher(o.make_fetcher ? o.make_fetcher() : conda::make_fetcher());
  conda::PackageCache cache(o.cache_root / "pkgs");
  conda::PackageCache wheel_cache(o.cache_root / "pkgs" / "wheels", pypi::wheel_cache_format());
  for (std::size_t i = 0; i < in.platforms.size(); ++i) {
    PlatformPlan p{.platform = in.platforms[i],
                   .packages = std::move(per_platform[i].packages),
                   .wheels = std::move(per_platform[i].wheels)};
    for (const auto& r : p.packages)
      p.cached.push_back(
          cache.local_source(r.url, {.sha256 = r.sha256, .md5 = r.md5, .size = r.size}, *fetcher)
              .has_value());
    for (const auto& w : p.wheels)
      p.wheels_cached.push_back(
          wheel_cache.local_source(w.url, {.sha256 = w.sha256}, *fetcher).has_value());
    auto platform = DE_TRY(image_platform(p.platform));
    auto base = read_base_image(in.base, platform, o.registry);
    if (base) {
      p.base_layers = base->layers.size();
    } else if (base_is_local(in.base)) {
      return std::unexpected(std::move(base).error());
    } else {
      // A registry out of reach does not stop a dry run: the plan just cannot count its layers.
      p.base_known = false;
      log::warn(
          "--dry-run: the base image {} could not be read ({}); the layers are planned as "
          "if it had none",
          in.base, base.error().to_string());
    }
    p.layers =
        DE_TRY(plan_platform_layers(p.packages, p.wheels, in.declared.image, p.base_layers));
    plan.platforms.push_back(std::move(p));
  }
  return plan;
}

}  // namespace de::build
