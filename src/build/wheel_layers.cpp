#include "build/wheel_layers.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "docker_envs/base/parallel.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"
#include "docker_envs/pypi/wheel_install.hpp"

namespace de::build::detail {

namespace fs = std::filesystem;

namespace {

std::string url_file_name(std::string_view url) {
  auto end = url.find_first_of("?#");
  std::string_view path = url.substr(0, end);
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string describe(const WheelToInstall& w) {
  return w.version.empty() ? "pypi package " + w.name
                           : fmt::format("pypi package {} {}", w.name, w.version);
}

}  // namespace

std::size_t wheel_layer_budget(std::size_t wheels, std::size_t max_layers) {
  if (wheels == 0) return 0;
  return std::min(wheels, std::max<std::size_t>(1, max_layers / 4));
}

std::string wheel_layer_label(const std::vector<std::string>& dists) {
  if (dists.size() == 1) return "pypi " + dists.front();
  return fmt::format("{} pypi packages: {}", dists.size(), fmt::join(dists, ", "));
}

Result<std::vector<PlannedWheel>> plan_wheels(const BuildRequest& r,
                                              std::span<const conda::PackageRecord> records,
                                              std::map<std::string, std::string> taken,
                                              const std::string& prefix, WheelFetchStats& stats) {
  std::vector<conda::PackageCache::FetchRequest> requests;
  for (const auto& w : r.wheels) {
    std::string file = url_file_name(w.url);
    if (!file.ends_with(".whl"))
      return fail(Code::Unsupported,
                  "{} is a source distribution ({}), not a wheel: building it would run its "
                  "build backend; lock a wheel of it instead",
                  describe(w), file);
    requests.push_back({w.url, {.sha256 = w.sha256}});
  }
  const conda::PackageRecord* python = nullptr;
  for (const auto& rec : records)
    if (rec.name == "python") python = &rec;
  if (!python)
    return fail(Code::InvalidArgument,
                "{} and {} other pypi package(s) need a python in the environment; it has none",
                describe(r.wheels.front()), r.wheels.size() - 1);
  auto python_info = DE_TRY_CTX(conda::python_info_from_record(*python), "the python package");

  conda::PackageCache cache(r.package_cache / "wheels", pypi::wheel_cache_format());
  progress::emit(r.reporter, {.kind = progress::Kind::StageStart,
                              .stage = "wheels",
                              .detail = fmt::format("{} pypi package(s)", requests.size()),
                              .total = requests.size()});
  std::size_t local = 0;
  auto on_fetch = [&](const conda::PackageCache::FetchProgress& p) {
    using State = conda::PackageCache::FetchProgress::State;
    if (p.state == State::Downloaded) {
      ++stats.downloaded;
      stats.bytes += p.bytes;
    }
    if (p.state == State::Local) ++local;
    conda::PackageCache::report(r.reporter, "wheels", p);
  };
  auto dirs = DE_TRY_CTX(
      cache.fetch_all(requests, *r.fetcher, std::max(1u, r.parallelism), on_fetch),
      "fetching pypi packages");
  progress::emit(r.reporter,
                 {.kind = progress::Kind::StageEnd,
                  .stage = "wheels",
                  .detail = fmt::format(
                      "{} pypi package(s): {} downloaded ({}), {} from the package cache, {} local",
                      requests.size(), stats.downloaded, progress::human_bytes(stats.bytes),
                      requests.size() - stats.downloaded - local, local)});

  std::vector<PlannedWheel> out(r.wheels.size());
  Status planned = parallel_for(r.wheels.size(), std::max(1u, r.parallelism), [&](std::size_t i) -> Status {
    const auto& w = r.wheels[i];
    pypi::WheelInstallOptions options{.prefix = prefix,
                                      .python = python_info,
                                      .requested = w.requested};
    if (w.direct_url) options.direct_url = pypi::DirectUrl{w.url, w.sha256};
    auto plan = DE_TRY_CTX(pypi::plan_wheel(dirs[i], url_file_name(w.url), options), describe(w));
    PlannedWheel& p = out[i];
    p.dist = plan.name + "-" + plan.version;
    p.content_base = w.sha256.hex();
    p.dir = dirs[i];
    for (const auto& e : plan.entries) p.size += e.size;
    p.entries = std::move(plan.entries);
    return {};
  });
  DE_TRY(planned);

  for (std::size_t i = 0; i < out.size(); ++i)
    DE_TRY(pypi::claim_paths(out[i].entries, describe(r.wheels[i]), taken));
  return out;
}

}  // namespace de::build::detail
