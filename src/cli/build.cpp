// `docker-envs build [ENV_FILE] [SPEC]... [-t NAME:TAG] [-o DEST] [-p SPEC...] [-c CHANNEL...]
// [--json]`:
// a conda environment becomes an image. ENV_FILE is an @EXPLICIT file (what `conda list
// --explicit` and conda-lock render), a conda-lock v1 file, or an environment.yml that is solved
// and whose `image:` section declares the image (see include/docker_envs/build/image_spec.hpp);
// specs (positional after the file, or alone, as for `solve` and `lock`; or -p) solve with -c; `--lock LOCK` takes the packages from a lock and the rest from
// ENV_FILE; `--from-prefix PREFIX` takes them from an existing environment's conda-meta records.
// `--dry-run` prints the packages and layers instead of building, `--offline` keeps off the
// network. Every key of the image section has a flag here that overrides it. DEST is any transport
// or docker://REF (default build::default_destination()). Progress goes to stderr as --progress
// says (cli/progress.hpp), ending with a summary (with what changed since the last build of the
// same environment, cli/build_changes.hpp); --json prints the result on stdout. What the
// inputs mean and how they become an image is build::build_environment()
// (include/docker_envs/build/inputs.hpp); this file is the flags, what
// depends on the process environment, and the printing.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/build_changes.hpp"
#include "cli/common.hpp"
#include "cli/registry_ref.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/build/inputs.hpp"

namespace de::cli {

void add_build(CLI::App& parent, CommandTable& commands);
// $XDG_CACHE_HOME/docker-envs, else ~/.cache/docker-envs (cache.cpp).
std::filesystem::path default_cache_root();

namespace {

namespace fs = std::filesystem;

struct BuildFlags {
  std::vector<std::string> args;  // [ENV_FILE] [SPEC]...
  std::string tag;
  std::string output;
  std::vector<std::string> specs;
  std::vector<std::string> channels;
  // Overrides of the image: section.
  std::string base, prefix, workdir, user, entrypoint, cmd, layering, compression;
  std::vector<std::string> platforms, env, labels, files;
  std::size_t max_layers = 0;
  std::string cache_dir;
  std::vector<std::string> cache_from, cache_to;
  LockSelectionFlags lock;  // -e/--environment, --category
  std::string lock_file, from_prefix;
  bool locked = false, dry_run = false, offline = false;
  RegistryFlags registry;
};

fs::path cache_root(const BuildFlags& f) {
  return f.cache_dir.empty() ? default_cache_root() : fs::path(f.cache_dir);
}

nlohmann::json describe(const build::EnvironmentBuildResult& out, size_t i) {
  const auto& built = out.results[i];
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : built.layers)
    layers.push_back({{"label", l.label},
                      {"packages", l.packages},
                      {"digest", l.blob.digest.to_string()},
                      {"size", l.blob.size},
                      {"diff_id", l.diff_id.to_string()},
                      {"reused", l.reused},
                      {"shared_cache", l.shared}});
  return nlohmann::json{
      {"platform", out.inputs.platforms[i]},
      {"image_platform", built.image.config.platform().to_string()},
      {"manifest_digest", out.manifests[i].to_string()},
      {"config_digest", out.config_digests[i].to_string()},
      {"packages", built.package_count},
      {"base_layers", built.base_layers},
      {"layers", layers},
      {"bytes_reused", built.bytes_reused},
      {"bytes_new", built.bytes_new},
      {"packages_downloaded", built.packages_downloaded},
      {"bytes_downloaded", built.bytes_downloaded},
      {"packages_not_fetched", built.packages_not_fetched},
      {"packages_planned", built.packages_planned},
      {"warnings", built.warnings},
      {"image_memo",
       {{"hit", built.image_memo.hit},
        {"from",
         built.image_memo.hit ? nlohmann::json(built.image_memo.from) : nlohmann::json(nullptr)},
        {"key", built.image_memo.key ? nlohmann::json(built.image_memo.key->to_string())
                                     : nlohmann::json(nullptr)},
        {"why_not", built.image_memo.why_not}}},
      {"changes", changes_json(i < out.changes.size() ? out.changes[i] : std::nullopt)}};
}

void print_json(const build::EnvironmentBuildResult& out, std::uint64_t reused,
                std::uint64_t fresh) {
  const auto& in = out.inputs;
  nlohmann::json json;
  if (in.multi()) {
    nlohmann::json images = nlohmann::json::array();
    for (size_t i = 0; i < out.results.size(); ++i) images.push_back(describe(out, i));
    json = {{"images", images}, {"bytes_reused", reused}, {"bytes_new", fresh}};
    json["index_digest"] = out.manifest_digest.to_string();
  } else {
    json = describe(out, 0);
  }
  json["image"] = in.image_name + ":" + in.image_tag;
  json["destination"] = in.destination;
  json["manifest_digest"] = out.manifest_digest.to_string();
  if (const auto& pushed = out.pushed)
    json["push"] = {
        {"media_type", pushed->media_type},         {"blobs_uploaded", pushed->blobs_uploaded},
        {"blobs_skipped", pushed->blobs_skipped},   {"blobs_mounted", pushed->blobs_mounted},
        {"bytes_uploaded", pushed->bytes_uploaded}, {"bytes_skipped", pushed->bytes_skipped},
        {"bytes_mounted", pushed->bytes_mounted}};
  nlohmann::json from = nlohmann::json::array(), to = nlohmann::json::array();
  for (const auto& c : out.cache_from)
    from.push_back({{"ref", redact_reference(c.ref.text)},
                    {"manifest_digest",
                     c.manifest ? nlohmann::json(c.manifest->to_string()) : nlohmann::json(nullptr)},
                    {"images", c.images},
                    {"layers", c.layers},
                    {"error", c.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.error)}});
  for (const auto& c : out.cache_to) {
    nlohmann::json o{{"ref", c.ref},
                     {"error", c.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.error)}};
    if (const auto& p = c.pushed)
      o.update({{"manifest_digest", p->manifest.to_string()},
                {"images", p->images},
                {"layers", p->layers},
                {"blobs_uploaded", p->blobs_uploaded},
                {"blobs_mounted", p->blobs_mounted},
                {"blobs_skipped", p->blobs_skipped},
                {"bytes_uploaded", p->bytes_uploaded}});
    to.push_back(std::move(o));
  }
  json["shared_cache"] = {{"from", from}, {"to", to}};
  std::fputs((json.dump(2) + "\n").c_str(), stdout);
}

// --dry-run: the packages and layers, as a table on stdout or (--json) one document.
void print_plan(const build::BuildPlan& plan, bool json) {
  const bool multi = plan.inputs.multi();
  if (json) {
    nlohmann::json packages = nlohmann::json::array(), layers = nlohmann::json::array();
    nlohmann::json pypi = nlohmann::json::array();
    nlohmann::json base_layers = nlohmann::json::object();
    for (const auto& p : plan.platforms) {
      base_layers[p.platform] =
          p.base_known ? nlohmann::json(p.base_layers) : nlohmann::json(nullptr);
      for (size_t i = 0; i < p.packages.size(); ++i) {
        const auto& r = p.packages[i];
        nlohmann::json o{{"name", r.name},         {"version", r.version},
                         {"build", r.build},       {"url", conda::redact_url(r.url)},
                         {"platform", p.platform}, {"subdir", r.subdir},
                         {"cached", p.cached[i]}};
        o["sha256"] = r.sha256 ? nlohmann::json(r.sha256->hex()) : nlohmann::json(nullptr);
        o["md5"] = r.md5 ? nlohmann::json(r.md5->hex()) : nlohmann::json(nullptr);
        o["size"] = r.size ? nlohmann::json(*r.size) : nlohmann::json(nullptr);
        packages.push_back(std::move(o));
      }
      for (size_t i = 0; i < p.wheels.size(); ++i) {
        const auto& w = p.wheels[i];
        pypi.push_back({{"name", w.name},
                        {"version", w.version},
                        {"url", conda::redact_url(w.url)},
                        {"sha256", w.sha256.hex()},
                        {"platform", p.platform},
                        {"cached", p.wheels_cached[i]}});
      }
      for (const auto& l : p.layers)
        layers.push_back({{"platform", p.platform},
                          {"label", l.label},
                          {"packages", l.packages},
                          {"bucket", l.bucket}});
    }
    nlohmann::json doc{{"image", plan.inputs.image_name + ":" + plan.inputs.image_tag},
                       {"destination", plan.inputs.destination},
                       {"platforms", plan.inputs.platforms},
                       {"base", plan.inputs.base},
                       {"base_layers", base_layers},
                       {"packages", packages},
                       {"pypi", pypi},
                       {"layers", layers}};
    std::fputs((doc.dump(2) + "\n").c_str(), stdout);
    return;
  }
  std::string text = fmt::format("would build {}:{} into {}\n", plan.inputs.image_name,
                                 plan.inputs.image_tag, plan.inputs.destination);
  for (const auto& p : plan.platforms) {
    size_t cached = std::count(p.cached.begin(), p.cached.end(), true);
    text += fmt::format("{}{} package(s), {} in the package cache:\n",
                        multi ? p.platform + ": " : "", p.packages.size(), cached);
    for (size_t i = 0; i < p.packages.size(); ++i) {
      const auto& r = p.packages[i];
      std::string hash = r.sha256 ? "sha256 " + r.sha256->hex()
                                  : "md5 " + (r.md5 ? r.md5->hex() : std::string("unknown"));
      text += fmt::format("  {} {} {} {}{}\n    {}\n", r.name, r.version, r.build,
                          conda::redact_url(r.url), p.cached[i] ? "" : " (to download)", hash);
    }
    if (!p.wheels.empty())
      text += fmt::format("{} pypi package(s), {} in the package cache:\n", p.wheels.size(),
                          std::count(p.wheels_cached.begin(), p.wheels_cached.end(), true));
    for (size_t i = 0; i < p.wheels.size(); ++i) {
      const auto& w = p.wheels[i];
      text += fmt::format("  {} {} {}{}\n    sha256 {}\n", w.name, w.version,
                          conda::redact_url(w.url), p.wheels_cached[i] ? "" : " (to download)",
                          w.sha256.hex());
    }
    text += fmt::format("{} layer(s) on {} base layer(s) of {}:\n", p.layers.size(),
                        p.base_known ? std::to_string(p.base_layers) : std::string("unknown"),
                        plan.inputs.base);
    for (size_t i = 0; i < p.layers.size(); ++i)
      text += fmt::format("  [{}/{}] {}\n", i + 1, p.layers.size(), p.layers[i].label);
  }
  std::fputs(text.c_str(), stdout);
}

// The last lines of a build (short, to fit a terminal): what was written, its digest, and how
// its layers came about.
std::vector<std::string> summary(const build::EnvironmentBuildResult& out) {
  std::uint64_t reused = 0, fresh = 0;
  std::size_t built = 0, kept = 0;
  for (const auto& r : out.results) {
    reused += r.bytes_reused;
    fresh += r.bytes_new;
    for (const auto& l : r.layers) ++(l.reused ? kept : built);
  }
  const auto& in = out.inputs;
  std::vector<std::string> lines{
      fmt::format("wrote {} ({}:{}{})", in.destination, in.image_name, in.image_tag,
                  in.multi() ? fmt::format(", {} platforms", out.results.size()) : ""),
      "digest " + out.manifest_digest.to_string(),
      fmt::format("layers: {} built, {} reused; {} new, {} reused", built, kept,
                  progress::human_bytes(fresh), progress::human_bytes(reused))};
  // What changed since the last build of this environment (nothing on a first build).
  for (size_t i = 0; i < out.changes.size(); ++i)
    if (const auto& c = out.changes[i])
      for (auto& l : changes_lines(*c, in.multi() ? in.platforms[i] : std::string_view{}))
        lines.push_back(std::move(l));
  return lines;
}

Status run(const BuildFlags& f, const Globals& globals) {
  ProgressDisplay display(globals.progress);
  // Positional specs the same way as `solve` and `lock`: [ENV_FILE] [SPEC]..., then -p's.
  auto [env_file, specs] = split_env_file_and_specs(f.args, "");
  specs.insert(specs.end(), f.specs.begin(), f.specs.end());
  build::EnvironmentBuildOptions options{
      .inputs = {.env_file = env_file,
                 .specs = specs,
                 .channels = f.channels,
                 .image = {.name = f.tag,
                           .base = f.base,
                           .prefix = f.prefix,
                           .workdir = f.workdir,
                           .user = f.user,
                           .entrypoint = f.entrypoint,
                           .cmd = f.cmd,
                           .layering = f.layering,
                           .platforms = f.platforms,
                           .env = f.env,
                           .labels = f.labels,
                           .files = f.files,
                           .max_layers = f.max_layers},
                 .output = f.output,
                 .compression = f.compression,
                 .lock = f.lock.selection(""),
                 .lock_file = f.lock_file,
                 .locked = f.locked,
                 .from_prefix = f.from_prefix,
                 .offline = f.offline},
      // The same flags-to-request rules as `docker-envs solve` (channel order, ${VAR}, overrides).
      .solve_request = [](const build::SolveInputs& s) -> Result<build::SolveSetup> {
        SolveFlags flags{.file = s.file,
                         .channels = s.channels,
                         .specs = s.specs,
                         .platform = s.platform,
                         .offline = s.offline};
        auto request = DE_TRY(make_solve_request(flags, process_env()));
        return build::SolveSetup{std::move(request.request), std::move(request.spec)};
      },
      .created_by = "docker-envs build",
      // Registry blobs (base images, shared caches) under the same root as everything else.
      .registry = [&f]() -> Result<registry::RegistryOptions> {
        auto registry = DE_TRY(registry_options(f.registry));
        registry.cache_dir = cache_root(f);
        return registry;
      },
      .cache_root = cache_root(f),
      .parallelism = static_cast<unsigned>(std::max(1, f.registry.parallel)),
      .source_date_epoch = globals.source_date_epoch,
      .make_fetcher = {},
      .getenv = process_env(),
      .reporter = display.reporter(),
      .cache_from = f.cache_from,
      .cache_to = f.cache_to,
  };
  if (f.dry_run) {
    print_plan(DE_TRY(build::plan_build(options)), f.registry.json);
    return {};
  }
  auto out = DE_TRY(build::build_environment(options));
  display.finish(summary(out));
  if (f.registry.json) {
    std::uint64_t reused = 0, fresh = 0;
    for (const auto& r : out.results) {
      reused += r.bytes_reused;
      fresh += r.bytes_new;
    }
    print_json(out, reused, fresh);
  }
  return {};
}

}  // namespace

void add_build(CLI::App& parent, CommandTable& commands) {
  auto f = std::make_shared<BuildFlags>();
  auto* sub = parent.add_subcommand(
      "build",
      "Build an image from a conda environment (environment.yml, a lock, or an existing prefix)");
  sub->add_option("args", f->args,
                  "[ENV_FILE] [SPEC]...: an environment.yml, @EXPLICIT, conda-lock or pixi.lock "
                  "file (default ./environment.yml), then match specs to add (solved with -c)");
  sub->add_option("-t,--tag", f->tag, "NAME[:TAG] of the image (image.name)");
  sub->add_option("-o,--output", f->output,
                  "Destination: docker-archive:PATH, oci:DIR, oci-archive:PATH or docker://REF "
                  "(default docker-archive:NAME.tar for the tag latest, NAME-TAG.tar for another)")
      ->type_name("DEST");
  sub->add_option("-p,--package,--spec", f->specs, "A match spec to install (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("-c,--channel", f->channels, "Channel for the specs (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--base", f->base,
                  "Base image: registry ref, archive, transport ref or scratch (image.base; "
                  "default debian:bookworm-slim)");
  sub->add_option("--prefix", f->prefix,
                  "Environment prefix in the image (image.prefix; default /opt/conda)");
  sub->add_option("--platform", f->platforms,
                  "Conda platform (repeatable: several make one image index; image.platforms)");
  sub->add_option("--entrypoint", f->entrypoint,
                  "Entrypoint: JSON array or one string (image.entrypoint)");
  sub->add_option("--cmd", f->cmd, "Command: JSON array or one string (image.cmd)");
  sub->add_option("--workdir", f->workdir, "Working directory (image.workdir)");
  sub->add_option("--user", f->user,
                  "UID:GID running the container and owning the prefix (image.user)");
  sub->add_option("--env", f->env, "NAME=VALUE added to the config (image.env)");
  sub->add_option("--label", f->labels, "KEY=VALUE label (image.labels)");
  sub->add_option("--file", f->files,
                  "SRC[:DEST] host file or directory for the final layer (image.files)");
  sub->add_option("--layering", f->layering,
                  "auto, per-package or single (image.layering.strategy)")
      ->check(CLI::IsMember({"auto", "per-package", "single"}));
  sub->add_option("--max-layers", f->max_layers,
                  "Layer budget, base included (image.layering.max_layers; default 64)")
      ->check(CLI::Range(2, 1000));
  sub->add_option("--compression", f->compression,
                  "Layer compression for OCI layouts and registries: gzip (default), zstd, none")
      ->check(CLI::IsMember({"gzip", "zstd", "none"}));
  sub->add_option("--cache-dir", f->cache_dir,
                  "Cache root: DIR/pkgs and DIR/layers (default $XDG_CACHE_HOME/docker-envs)");
  sub->add_option("--cache-from", f->cache_from,
                  "Shared build cache to reuse layers and whole images from: docker://REF or "
                  "oci:DIR[:TAG] (repeatable; one out of reach is a warning)");
  sub->add_option("--cache-to", f->cache_to,
                  "Shared build cache to add this build's layers and image to: docker://REF or "
                  "oci:DIR[:TAG] (repeatable; uploads only what the registry lacks)");
  add_lock_selection_flags(sub, f->lock);
  sub->add_option(
      "--lock", f->lock_file,
      "Lock file (@EXPLICIT, conda-lock or pixi.lock) giving the packages; ENV_FILE gives the "
      "name, variables and image section");
  sub->add_flag("--locked", f->locked,
                "With --lock: fail when the lock is stale or cannot be checked against ENV_FILE");
  sub->add_option("--from-prefix", f->from_prefix,
                  "An existing conda environment whose conda-meta records give the packages");
  sub->add_flag("--dry-run", f->dry_run,
                "Print the packages and layers that would be built; download and write nothing");
  sub->add_flag("--offline", f->offline,
                "No network: cached repodata, packages from the package cache; fail at once "
                "listing what is missing");
  add_registry_options(sub, f->registry, /*platform=*/false);
  // A repeatable option takes one value per use, so that it never swallows the specs after it.
  for (CLI::Option* option : sub->get_options())
    if (option->nonpositional()) option->allow_extra_args(false);
  on_run(sub, commands, f, run);
}

}  // namespace de::cli
