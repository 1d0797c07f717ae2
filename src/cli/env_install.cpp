// `docker-envs env install LOCKFILE --root DIR [--prefix /opt/conda] [--platform P] [-e ENV]
// [--category C]` lays out the environment of a lock file (@EXPLICIT, conda-lock v1 or pixi.lock,
// recognised by content) as it will appear in an image: DIR/<prefix>. Packages are fetched
// (file://, http(s)) and verified through the package cache. `env install PKGFILE...` installs
// local package files (.conda / .tar.bz2) in the order given; wheel files (.whl) given with either
// are installed after the conda packages into their python (or --python X.Y), as pip would; so
// are a lock's PyPI wheels (conda-lock `manager: pip`, pixi `pypi:`). An environment.yml is not a
// lock: it is refused with the advice to run `docker-envs lock` first (which resolves its pip
// section), so that what is installed is what a build from that lock installs.
// Without --root the prefix is a host directory (like `conda create -p`). Nothing from the packages is run. Packages are extracted in
// parallel; unchanged files are hardlinked from the cache unless `--link copy`.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>

#include "cli/common.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/parallel.hpp"
#include "docker_envs/build/inputs.hpp"
#include "docker_envs/build/offline.hpp"
#include "docker_envs/build/pip_section.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"
#include "docker_envs/pypi/wheel_install.hpp"

namespace de::cli {

// Declared here rather than in common.hpp: main.cpp declares it beside its registration.
void add_env_install(CLI::App& parent, CommandTable& commands);

namespace {

namespace fs = std::filesystem;

struct EnvInstallOptions {
  std::string root;
  std::string prefix = "/opt/conda";
  std::string python;
  std::string cache;
  std::string link = "hardlink";
  std::string platform;
  LockSelectionFlags lock;
  unsigned jobs = 0;
  bool offline = false;
  std::vector<std::string> inputs;
};

fs::path default_cache() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "docker-envs/pkgs";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache/docker-envs/pkgs";
  return fs::temp_directory_path() / "docker-envs/pkgs";
}

bool is_package_file(std::string_view name) {
  return name.ends_with(".conda") || name.ends_with(".tar.bz2");
}

// The python that wheels go into: --python, else the plan's `python` record.
Result<conda::PythonInfo> wheel_python(std::optional<conda::PythonInfo> python,
                                       const conda::InstallPlan& plan, const std::string& what) {
  for (const auto& r : plan.records)
    if (!python && r.name == "python") python = DE_TRY(conda::python_info_from_record(r));
  if (!python)
    return fail(Code::InvalidArgument,
                "installing {} needs a python: a python package among the inputs, or --python X.Y",
                what);
  return *python;
}

// The files the plan already installs, each with its owner (a wheel never overwrites them).
std::map<std::string, std::string> taken_paths(const conda::InstallPlan& plan) {
  std::map<std::string, std::string> taken;
  for (const auto& e : plan.entries)
    taken.emplace(e.path, e.package.empty() ? "the environment's own files"
                                            : "the conda package " + e.package);
  return taken;
}

Status add_planned_wheel(pypi::WheelPlan wheel, const std::string& what,
                         std::map<std::string, std::string>& taken, conda::InstallPlan& plan) {
  for (auto& w : wheel.warnings) {
    plan.warnings.push_back(std::move(w));
    plan.warning_packages.push_back(plan.records.size());  // not a conda package's
  }
  DE_TRY(pypi::claim_paths(wheel.entries, what, taken));
  for (auto& e : wheel.entries) plan.entries.push_back(std::move(e));
  return {};
}

// Plans local wheel files (PEP 427) after the conda packages of `plan`, into the python of the
// plan (or --python), as pip would install them: REQUESTED, direct_url.json with the file's URL.
Status add_wheels(const std::vector<std::string>& files, const fs::path& cache_root,
                  const std::string& prefix, std::optional<conda::PythonInfo> python,
                  conda::InstallPlan& plan) {
  auto target = DE_TRY(wheel_python(std::move(python), plan, files.front()));
  auto taken = taken_paths(plan);
  conda::PackageCache cache(cache_root / "wheels", pypi::wheel_cache_format());
  for (const auto& file : files) {
    fs::path path = fs::absolute(file).lexically_normal();
    auto hashes = DE_TRY_CTX(conda::hash_package_file(path, false), file);
    fs::path dir = DE_TRY(cache.extract(path, {.sha256 = hashes.sha256}));
    auto wheel = DE_TRY(pypi::plan_wheel(
        dir, path.filename().string(),
        {.prefix = prefix,
         .python = target,
         .requested = true,
         .direct_url = pypi::DirectUrl{conda::path_to_file_url(path), hashes.sha256}}));
    DE_TRY(add_planned_wheel(std::move(wheel), "wheel " + path.filename().string(), taken, plan));
  }
  return {};
}

// Plans a lock's PyPI wheels (fetched through the package cache's wheels/, verified against the
// lock's sha256) after the conda packages, as `build` installs them.
Status add_lock_wheels(const std::vector<build::WheelToInstall>& wheels, const fs::path& cache_root,
                       const std::string& prefix, std::optional<conda::PythonInfo> python,
                       conda::Fetcher& fetcher, unsigned jobs, conda::InstallPlan& plan) {
  auto target = DE_TRY(wheel_python(std::move(python), plan,
                                    fmt::format("{} pypi package(s)", wheels.size())));
  auto taken = taken_paths(plan);
  conda::PackageCache cache(cache_root / "wheels", pypi::wheel_cache_format());
  std::vector<conda::PackageCache::FetchRequest> requests;
  for (const auto& w : wheels) requests.push_back({w.url, {.sha256 = w.sha256}});
  auto dirs = DE_TRY_CTX(cache.fetch_all(requests, fetcher, jobs), "fetching pypi packages");
  for (std::size_t i = 0; i < wheels.size(); ++i) {
    const auto& w = wheels[i];
    std::string file = w.url.substr(0, w.url.find_first_of("?#"));
    file = file.substr(file.rfind('/') + 1);
    pypi::WheelInstallOptions options{.prefix = prefix, .python = target, .requested = w.requested};
    if (w.direct_url) options.direct_url = pypi::DirectUrl{w.url, w.sha256};
    auto wheel = DE_TRY_CTX(pypi::plan_wheel(dirs[i], file, options), "pypi package " + w.name);
    DE_TRY(add_planned_wheel(std::move(wheel), "pypi package " + w.name, taken, plan));
  }
  return {};
}

Status run(const EnvInstallOptions& o, const Globals& globals) {
  std::string prefix = o.prefix;
  fs::path root = o.root;
  if (root.empty()) {
    // The prefix is a host directory.
    std::error_code ec;
    prefix = fs::absolute(prefix, ec).lexically_normal().string();
    if (ec) return fail(Code::InvalidArgument, "--prefix {}: {}", o.prefix, ec.message());
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  }
  if (!o.platform.empty()) DE_TRY_CTX(conda::parse_platform(o.platform), "--platform");
  fs::path cache_root = o.cache.empty() ? default_cache() : fs::path(o.cache);
  conda::PackageCache cache(cache_root);
  std::vector<conda::PackageToInstall> packages;
  // Wheels are installed after the conda packages, into their python.
  std::vector<std::string> inputs, wheel_files;
  for (const auto& in : o.inputs) (in.ends_with(".whl") ? wheel_files : inputs).push_back(in);
  std::vector<build::WheelToInstall> lock_wheels;  // a lock's PyPI entries
  std::unique_ptr<conda::Fetcher> fetcher;

  std::size_t package_files = 0;
  for (const auto& in : inputs) package_files += is_package_file(in) ? 1 : 0;
  if (package_files == inputs.size()) {
    if (!o.platform.empty())
      log::warn("--platform {} is not checked for package files", o.platform);
    // Verify and extract the packages on every core (each thread its own PackageCache object),
    // biggest first, so that one large package does not finish alone at the end.
    std::vector<std::pair<std::uintmax_t, std::size_t>> order;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      std::error_code ec;
      auto size = fs::file_size(inputs[i], ec);
      order.emplace_back(ec ? 0 : size, i);
    }
    std::ranges::sort(order, std::greater<>());
    std::vector<fs::path> extracted(inputs.size());
    Status extracted_all = parallel_for_each_worker(
        order.size(), 0, [&](unsigned) { return conda::PackageCache(cache_root); },
        [&](conda::PackageCache& thread_cache, std::size_t k) -> Status {
          std::size_t i = order[k].second;
          extracted[i] = DE_TRY(thread_cache.extract(inputs[i]));
          return {};
        });
    DE_TRY(extracted_all);
    for (auto& dir : extracted) packages.push_back({std::move(dir), {}, ""});
  } else {
    if (inputs.size() != 1)
      return fail(Code::InvalidArgument,
                  "give either one lock file or package files (.conda, .tar.bz2), not both");
    const std::string& file = inputs.front();
    auto text = DE_TRY_CTX(read_file(file, std::size_t{256} << 20), "reading the lock file");
    auto selection = o.lock.selection(o.platform);
    selection.pypi = true;
    auto parsed = conda::parse_lockfile(text, file, selection);
    if (!parsed) {
      // An environment.yml is a request, not a lock: say how to get one.
      if (auto spec = conda::parse_environment_spec(text, file);
          spec && (!spec->dependency_lines.empty() || !spec->pip.empty()))
        return fail(Code::InvalidArgument,
                    "{} is an environment file, not a lock: `env install` installs locked "
                    "packages only; run `docker-envs lock {}` (it resolves the pip section too) "
                    "and install the lock it writes",
                    file, file);
    }
    auto lock = DE_TRY(std::move(parsed));
    log::info("{}: {} package(s){}", file, lock.packages.size(),
              lock.platform.empty() ? "" : " for " + lock.platform);
    std::vector<conda::PackageCache::FetchRequest> requests;
    for (const auto& r : lock.packages)
      requests.push_back({.url = r.url, .expected = {.sha256 = r.sha256, .md5 = r.md5}});
    fetcher =
        o.offline ? build::make_offline_fetcher(conda::make_fetcher()) : conda::make_fetcher();
    if (o.offline) DE_TRY(build::check_offline(lock.packages, cache_root, *fetcher));
    auto roots = build::requested_roots(lock.pypi);
    for (std::size_t i = 0; i < lock.pypi.size(); ++i) {
      lock_wheels.push_back(DE_TRY(build::wheel_from_lock(lock.pypi[i], file)));
      lock_wheels.back().requested = roots[i];
    }
    ProgressDisplay display(globals.progress);
    display.stage_start("fetch", fmt::format("{} package(s)", requests.size()));
    auto* reporter = display.reporter();
    auto dirs = DE_TRY(cache.fetch_all(
        requests, *fetcher, o.jobs ? o.jobs : std::max(thread_count(0, requests.size()), 4u),
        [reporter](const conda::PackageCache::FetchProgress& p) {
          conda::PackageCache::report(reporter, "fetch", p);
        }));
    display.stage_end("fetch", fmt::format("{} package(s)", requests.size()));
    for (std::size_t i = 0; i < dirs.size(); ++i)
      packages.push_back({dirs[i], lock.packages[i], ""});
  }

  conda::InstallOptions options{.prefix = prefix,
                                .history_time = globals.source_date_epoch.value_or(0),
                                .history_command = "docker-envs env install"};
  if (!o.python.empty()) {
    conda::PackageRecord python;
    python.name = "python";
    python.version = o.python;
    options.python = DE_TRY_CTX(conda::python_info_from_record(python), "--python " + o.python);
  }
  auto plan = DE_TRY(conda::plan_environment(packages, options));
  if (!lock_wheels.empty())
    DE_TRY(add_lock_wheels(lock_wheels, cache_root, prefix, options.python, *fetcher,
                           o.jobs ? o.jobs : 4u, plan));
  if (!wheel_files.empty()) DE_TRY(add_wheels(wheel_files, cache_root, prefix, options.python, plan));
  for (const auto& warning : plan.warnings) log::warn("{}", warning);
  if (o.root.empty()) {
    // Write below the prefix itself, so that symlinks among the prefix's own parents (a symlinked
    // home directory) do not matter; only the paths inside the environment are checked.
    std::string rel = prefix.substr(1) + "/";
    for (auto& e : plan.entries) {
      e.path = e.path.substr(rel.size());
      if (e.type == conda::InstallEntry::Type::Hardlink)
        e.link_target = e.link_target.substr(rel.size());
    }
    root = prefix;
  }
  DE_TRY(conda::write_to_directory(
      plan, root, prefix,
      {.link = o.link == "copy" ? conda::LinkMode::Copy : conda::LinkMode::Hardlink}));
  log::info("installed {} package(s), {} entries, into {}", plan.records.size(),
            plan.entries.size(), o.root.empty() ? prefix : (root / prefix.substr(1)).string());
  return {};
}

}  // namespace

void add_env_install(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<EnvInstallOptions>();
  auto* sub = parent.add_subcommand("install",
                                    "Install a lock file (@EXPLICIT, conda-lock or pixi.lock) or "
                                    "local package files into a directory, as "
                                    "in an image");
  sub->add_option(
         "inputs", options->inputs,
         "LOCKFILE (@EXPLICIT, conda-lock v1 or pixi.lock), or package files (.conda, .tar.bz2), "
         "dependencies first; wheels (.whl) are installed after them, into their python")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--root", options->root,
                  "Host directory standing for the image root (files go to ROOT/PREFIX)");
  sub->add_option(
      "--prefix", options->prefix,
      "Environment prefix inside the image (default /opt/conda); without --root, a host directory");
  sub->add_option("--platform", options->platform,
                  "Platform to take from a conda-lock or pixi lock (default: its only one, or "
                  "linux-64); checked against an @EXPLICIT file's '# platform:' line");
  add_lock_selection_flags(sub, options->lock);
  sub->add_option(
      "--python", options->python,
      "Python version X.Y for noarch: python packages (default: from the python package)");
  sub->add_option("--cache", options->cache,
                  "Package cache directory (default $XDG_CACHE_HOME/docker-envs/pkgs)");
  sub->add_option("--link", options->link,
                  "How unchanged package files are installed: hardlink (to the package cache, as "
                  "conda does; a copy where that fails) or copy")
      ->check(CLI::IsMember({"hardlink", "copy"}))
      ->default_val("hardlink");
  sub->add_option("-j,--jobs", options->jobs,
                  "Parallel package downloads and extractions for a lock (default: cores, at "
                  "least 4)");
  sub->add_flag("--offline", options->offline,
                "No network: packages only from the package cache or local files; fail at once "
                "listing what is missing");
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
