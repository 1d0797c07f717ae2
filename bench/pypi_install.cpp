// pypi_install: resolve a requirements file against a PyPI-style index and install the wheels into
// a root, the way docker-envs does it for an image (bench/pypi.sh, against `pip install --prefix`).
//
//   pypi_install --index URL -r REQ.txt --root DIR --cache DIR --python X.Y.Z
//                [--prefix /opt/conda] [--fetch-threads N] [--jobs N]
//
// Written when no command of the CLI resolved requirements (environment.yml `- pip:` sections now
// resolve in `lock` and `build`, which need a conda environment with a python), this drives the
// same library calls a command does, and nothing else:
// pypi::resolve_for_image (index pages and PEP 658 metadata through the HTTP answer cache under
// CACHE/pypi-http), then the wheels through conda::PackageCache (CACHE/pkgs/wheels: download,
// sha256 check, extraction, as `build` fetches locked wheels), pypi::plan_wheel for each (in
// parallel, as `build` plans them), and conda::write_to_directory into ROOT/PREFIX (hardlinks from
// the cache, `env install`'s default). --fetch-threads 1 resolves one request at a time (the
// resolver before its parallel fetch). Exit 3 when the requirements cannot be resolved.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/pypi/resolve_image.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"
#include "docker_envs/pypi/wheel_install.hpp"

namespace {

namespace fs = std::filesystem;
using namespace de;

struct Options {
  std::string index, requirements, root, cache, python, prefix = "/opt/conda";
  unsigned fetch_threads = 8;
  unsigned jobs = 8;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status run(const Options& o) {
  auto began = std::chrono::steady_clock::now();
  std::string text = DE_TRY(read_file(o.requirements, 1 << 20));
  pypi::ImageResolveRequest request{
      .target = {.platform = "linux-64", .python_version = o.python,
                 .python_build = "h_0_cpython", .glibc = ""},
      .requirements = {},
      .sources = {.index_urls = {o.index}, .find_links = {}},
      .installed_dist_info = {},
      .allow_prereleases = false,
      .transport = {.cache_dir = o.cache},
      .fetch_threads = o.fetch_threads};
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) request.requirements.push_back(line);
  }
  auto outcome = DE_TRY(pypi::resolve_for_image(request));
  if (auto* u = std::get_if<pypi::Unresolvable>(&outcome)) {
    std::fprintf(stderr, "%s\n", u->explanation.c_str());
    std::exit(3);
  }
  const auto& dists = std::get<pypi::Resolution>(outcome).distributions;
  double resolved = seconds_since(began);

  std::vector<conda::PackageCache::FetchRequest> fetches;
  for (const auto& d : dists) {
    conda::PackageCache::FetchRequest f{.url = d.file.url, .expected = {}};
    if (auto it = d.file.hashes.find("sha256"); it != d.file.hashes.end())
      f.expected.sha256 = DE_TRY(Digest::from_hex(it->second));
    fetches.push_back(std::move(f));
  }
  conda::PackageCache cache(fs::path(o.cache) / "pkgs/wheels", pypi::wheel_cache_format());
  auto fetcher = conda::make_fetcher();
  auto dirs = DE_TRY(cache.fetch_all(fetches, *fetcher, o.jobs));
  double fetched = seconds_since(began);

  conda::PackageRecord python_record;
  python_record.name = "python";
  python_record.version = o.python;
  auto python = DE_TRY(conda::python_info_from_record(python_record));
  std::vector<pypi::WheelPlan> plans(dists.size());
  Status planned = parallel_for(dists.size(), o.jobs, [&](std::size_t i) -> Status {
    plans[i] = DE_TRY(pypi::plan_wheel(
        dirs[i], dists[i].file.filename,
        {.prefix = o.prefix, .python = python, .requested = dists[i].requested}));
    return {};
  });
  DE_TRY(planned);
  conda::InstallPlan plan;
  std::map<std::string, std::string> taken;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    DE_TRY(pypi::claim_paths(plans[i].entries, "wheel " + dists[i].file.filename, taken));
    for (auto& e : plans[i].entries) plan.entries.push_back(std::move(e));
  }
  DE_TRY(conda::write_to_directory(plan, o.root, o.prefix, {.link = conda::LinkMode::Hardlink}));
  std::fprintf(stderr,
               "pypi_install: %zu distributions, %zu entries into %s%s; resolved at %.3fs, "
               "wheels fetched at %.3fs, installed at %.3fs\n",
               dists.size(), plan.entries.size(), o.root.c_str(), o.prefix.c_str(), resolved,
               fetched, seconds_since(began));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "pypi_install: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--index") o.index = value();
    else if (a == "-r") o.requirements = value();
    else if (a == "--root") o.root = value();
    else if (a == "--cache") o.cache = value();
    else if (a == "--python") o.python = value();
    else if (a == "--prefix") o.prefix = value();
    else if (a == "--fetch-threads") o.fetch_threads = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--jobs") o.jobs = static_cast<unsigned>(std::stoul(value()));
    else {
      std::fprintf(stderr, "pypi_install: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.index.empty() || o.requirements.empty() || o.root.empty() || o.cache.empty() ||
      o.python.empty()) {
    std::fprintf(stderr, "usage: pypi_install --index URL -r REQ.txt --root DIR --cache DIR "
                         "--python X.Y.Z [--prefix P] [--fetch-threads N] [--jobs N]\n");
    return 2;
  }
  auto status = run(o);
  if (!status) {
    std::fprintf(stderr, "pypi_install: %s\n", status.error().to_string().c_str());
    return 1;
  }
  return 0;
}
