// `docker-envs build [ENV_FILE] [-t NAME:TAG] [-o DEST] [-p SPEC...] [-c CHANNEL...] [--json]`:
// a conda environment becomes an image. ENV_FILE is an @EXPLICIT file (what `conda list
// --explicit` and conda-lock render), a conda-lock v1 file, or an environment.yml that is solved
// and whose `image:` section declares the image (see include/docker_envs/build/image_spec.hpp); -p/-c solve specs
// without a file. Every key of the image section has a flag here that overrides it. DEST is any
// transport or docker://REF (default docker-archive:NAME.tar). Progress goes to a terminal only;
// --json prints the result on stdout.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/registry_ref.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/build/image_spec.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::cli {

void add_build(CLI::App& parent, CommandTable& commands);

namespace {

namespace fs = std::filesystem;

struct BuildFlags {
  std::string env_file;
  std::string tag;
  std::string output;
  std::vector<std::string> specs;
  std::vector<std::string> channels;
  // Overrides of the image: section.
  std::string base, prefix, workdir, user, entrypoint, cmd, layering, compression;
  std::vector<std::string> platforms, env, labels, files;
  std::size_t max_layers = 0;
  std::string cache_dir;
  LockSelectionFlags lock;  // -e/--environment, --category
  RegistryFlags registry;
};

fs::path cache_root(const BuildFlags& f) {
  if (!f.cache_dir.empty()) return f.cache_dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "docker-envs";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache/docker-envs";
  return fs::temp_directory_path() / "docker-envs";
}

// "[\"a\",\"b\"]" (JSON) or a plain string (one element).
Result<std::vector<std::string>> parse_command(std::string_view text, std::string_view flag) {
  if (text.starts_with("[")) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return fail(Code::InvalidArgument, "{} '{}' is not a JSON array of strings", flag, text);
    std::vector<std::string> out;
    for (const auto& v : j) {
      if (!v.is_string())
        return fail(Code::InvalidArgument, "{} '{}' is not a JSON array of strings", flag, text);
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  return std::vector<std::string>{std::string(text)};
}

Result<build::NameValue> parse_name_value(std::string_view text, std::string_view flag) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return fail(Code::InvalidArgument, "{} '{}' is not NAME=VALUE", flag, text);
  return build::NameValue{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

bool is_explicit(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line == "@EXPLICIT") return true;
    start = end + 1;
  }
  return false;
}

// NAME[:TAG] -> (NAME, TAG) with TAG defaulting to latest; a ':' inside a registry host's port
// ("host:5000/name") is not a tag separator.
std::pair<std::string, std::string> split_tag(std::string_view ref) {
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    return {std::string(ref.substr(0, colon)), std::string(ref.substr(colon + 1))};
  return {std::string(ref), "latest"};
}

// A base image: scratch, a transport reference or existing path, else a registry reference.
Result<oci::Image> read_base(const std::string& base, const RegistryFlags& flags) {
  if (base == "scratch") return oci::scratch_image();
  if (is_registry_ref(base))
    return DE_TRY_CTX(read_registry_image(base, flags, /*fetch_layers=*/false),
                      "base image " + shown_ref(base));
  std::error_code ec;
  if (base.starts_with("docker-archive:") || base.starts_with("oci:") ||
      base.starts_with("oci-archive:") || fs::exists(base, ec))
    return DE_TRY_CTX(read_source(base), "base image " + base);
  // A path that is not there is a mistake, not a Docker Hub name.
  if (build::base_is_path(base, "."))
    return fail(Code::NotFound,
                "base image {}: no such file or directory (a registry image is docker://REF)",
                base);
  return DE_TRY_CTX(read_registry_image(std::string(kRegistryPrefix) + base, flags, false),
                    "base image " + base);
}

std::string human_bytes(std::uint64_t n) {
  if (n >= (1u << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1u << 30));
  if (n >= (1u << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1u << 20));
  if (n >= (1u << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / (1u << 10));
  return fmt::format("{} B", n);
}

Status run(const BuildFlags& f, const Globals& globals) {
  const bool terminal = ::isatty(2) && log::level() <= log::Level::Info && !f.registry.json;
  auto say = [&](const std::string& line) {
    if (terminal) std::fputs((line + "\n").c_str(), stderr);
  };

  // 1. The input: @EXPLICIT, an environment.yml (with its image: section), or -p/-c specs.
  build::EnvironmentImageFile declared;
  std::vector<conda::PackageRecord> packages;
  std::string platform = "linux-64";
  std::string inputs;  // what the spec hash covers
  // What to solve, when the input is not a lock: the environment file and/or -p/-c.
  bool solve = !f.specs.empty();
  std::optional<std::string> lock_text;  // a conda-lock file (several platforms possible)
  std::string solve_file;
  std::string env_file = f.env_file;
  if (env_file.empty() && f.specs.empty()) env_file = "environment.yml";
  if (!env_file.empty()) {
    auto text = DE_TRY_CTX(read_file(env_file, 256 << 20), "reading the environment file");
    inputs = text;
    auto dir = fs::path(env_file).has_parent_path() ? fs::path(env_file).parent_path() : ".";
    if ((is_explicit(text) || conda::looks_like_yaml_lock(text)) &&
        (!f.specs.empty() || !f.channels.empty()))
      return fail(Code::InvalidArgument,
                  "{} is a lock: its packages are exact, -p/-c cannot add to them", env_file);
    if (conda::looks_like_yaml_lock(text)) {
      // conda-lock: the packages of each platform are read in the per-platform loop below; the
      // default platform is the lock's only one (else linux-64).
      auto only = conda::parse_lockfile(text, env_file, f.lock.selection(""));
      platform = only ? only->subdir : "linux-64";
      lock_text = std::move(text);
    } else if (is_explicit(text)) {
      auto env = DE_TRY(conda::parse_explicit(text, env_file));
      packages = std::move(env.packages);
      if (!env.platform.empty()) platform = env.platform;
    } else {
      declared = DE_TRY(build::parse_environment_image(text, env_file, dir));
      solve = true;
      solve_file = env_file;
    }
  }
  if (!f.channels.empty() && !solve)
    return fail(Code::InvalidArgument, "-c CHANNEL needs specs to solve (-p or environment.yml)");
  if (!f.specs.empty()) inputs += fmt::format("\n-p {}", fmt::join(f.specs, " "));
  if (!f.channels.empty()) inputs += fmt::format("\n-c {}", fmt::join(f.channels, " "));
  build::ImageSpec& spec = declared.image;

  // 2. Flags override the file.
  if (!f.base.empty()) spec.base = f.base;
  if (!f.tag.empty()) spec.name = f.tag;
  if (!f.prefix.empty()) spec.prefix = f.prefix;
  if (!f.platforms.empty()) spec.platforms = f.platforms;
  if (!f.entrypoint.empty()) spec.entrypoint = DE_TRY(parse_command(f.entrypoint, "--entrypoint"));
  if (!f.cmd.empty()) spec.cmd = DE_TRY(parse_command(f.cmd, "--cmd"));
  if (!f.workdir.empty()) spec.workdir = f.workdir;
  if (!f.user.empty()) spec.user = f.user;
  for (const auto& e : f.env) spec.env.push_back(DE_TRY(parse_name_value(e, "--env")));
  for (const auto& l : f.labels) spec.labels.push_back(DE_TRY(parse_name_value(l, "--label")));
  for (const auto& file : f.files)
    spec.files.push_back(DE_TRY_CTX(build::FileSpec::parse(file), "--file"));
  if (!f.layering.empty()) spec.strategy = DE_TRY(build::parse_layer_strategy(f.layering));
  if (f.max_layers) spec.max_layers = f.max_layers;

  std::vector<std::string> platforms = {platform};
  if (spec.platforms) {
    if (spec.platforms->empty())
      return fail(Code::InvalidArgument, "image.platforms is empty: name at least one platform");
    if (!solve && !lock_text &&
        (spec.platforms->size() != 1 ||
         (platform != spec.platforms->front() && platform != "noarch")))
      return fail(Code::InvalidArgument, "{} is a lock for {}, not {}", env_file, platform,
                  fmt::join(*spec.platforms, ", "));
    platforms = *spec.platforms;
  }
  for (const auto& p : platforms) DE_TRY(build::image_platform(p));
  const bool multi = platforms.size() > 1;

  std::string name = spec.name.value_or(declared.name.empty() ? "environment" : declared.name);
  auto [image_name, image_tag] = split_tag(name);
  if (auto valid = build::reference_name(image_name), tag = build::reference_tag(image_tag);
      valid != image_name || tag != image_tag) {
    // `docker load` refuses names outside the reference grammar (uppercase, spaces, ...).
    log::warn("image name '{}' is not a valid image reference; using '{}:{}'", name, valid, tag);
    image_name = valid;
    image_tag = tag;
  }
  std::string dest = f.output;
  if (dest.empty()) {
    std::string base_name = image_name.substr(image_name.rfind('/') + 1);
    dest = multi ? fmt::format("oci:{}:{}", base_name, image_tag)
                 : fmt::format("docker-archive:{}.tar:{}:{}", base_name, image_name, image_tag);
  }
  DE_TRY(check_destination(dest));
  Compression compression = Compression::Gzip;
  if (!f.compression.empty()) compression = DE_TRY(layer_compression(f.compression));
  if (!is_registry_ref(dest)) {
    auto ref = DE_TRY(parse_ref(dest, "destination"));
    bool docker_archive = ref.transport == oci::Transport::DockerArchive ||
                          (ref.transport == oci::Transport::Auto && ref.path.ends_with(".tar"));
    // A docker-archive's manifest.json has no platforms: `docker load` would load every entry
    // as a separate image and give the tag to the last one, whatever the host's platform.
    if (docker_archive && multi)
      return fail(Code::InvalidArgument,
                  "{}: a docker-archive holds one platform per tag and `docker load` cannot pick "
                  "one of {} ({}); write them all to oci-archive:PATH or oci:DIR, push them with "
                  "-o docker://REF, or build one with --platform {}",
                  dest, platforms.size(), fmt::join(platforms, ", "), platforms.front());
    if (docker_archive) compression = Compression::None;  // docker-archive holds plain tars
  }

  std::optional<build::Owner> owner;
  if (spec.user) owner = DE_TRY(build::Owner::parse(*spec.user));
  std::string base = spec.base.value_or("debian:bookworm-slim");
  auto fetcher = conda::make_fetcher();
  fs::path cache = cache_root(f);

  // 3. One image per platform: solve (each against its own virtual packages), base, build.
  std::vector<build::BuildResult> results;
  for (const auto& target : platforms) {
    if (lock_text) {
      auto lock = DE_TRY(conda::parse_lockfile(*lock_text, env_file, f.lock.selection(target)));
      packages = std::move(lock.packages);
    }
    if (solve) {
      // The same flags-to-request rules as `docker-envs solve` (channel order, ${VAR}, overrides).
      SolveFlags solve_flags{
          .file = solve_file, .channels = f.channels, .specs = f.specs, .platform = target};
      auto request = DE_TRY(make_solve_request(solve_flags, process_env()));
      if (request.request.specs.empty())
        return fail(Code::InvalidArgument, "{}: no dependencies to install",
                    solve_file.empty() ? std::string("-p") : solve_file);
      say(fmt::format("solving {} spec(s) for {} from {} channel(s)", request.request.specs.size(),
                      target, request.request.channels.size()));
      auto solve_fetcher = conda::make_fetcher();
      auto outcome = DE_TRY_CTX(conda::solve_environment(request.request, *solve_fetcher),
                                "solving for " + target);
      if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
        return fail(Code::Unsatisfiable, "the environment cannot be solved for {}: {}", target,
                    unsolvable->explanation);
      packages = std::move(std::get<conda::Solution>(outcome).packages);
      if (request.spec) {
        if (declared.name.empty()) declared.name = request.spec->name;
        if (declared.variables.empty()) declared.variables = request.spec->variables;
      }
    }

    say("base image " + base + " for " + target);
    RegistryFlags base_flags = f.registry;
    base_flags.platform = DE_TRY(build::image_platform(target)).to_string();
    auto base_image = DE_TRY(read_base(base, base_flags));

    build::BuildRequest request{
        .packages = std::move(packages),
        .base = std::move(base_image),
        .environment_name = declared.name.empty() ? image_name : declared.name,
        .prefix = spec.prefix.value_or("/opt/conda"),
        .platform = target,
        .owner = owner,
        .user = spec.user,
        .entrypoint = spec.entrypoint,
        .cmd = spec.cmd,
        .workdir = spec.workdir,
        .variables = declared.variables,
        .env = spec.env,
        .labels = spec.labels,
        .files = spec.files,
        .strategy = spec.strategy.value_or(build::LayerStrategy::Auto),
        .max_layers = spec.max_layers.value_or(64),
        .compression = compression,
        .source_date_epoch = globals.source_date_epoch,
        .spec_hash = Digest::of(inputs).to_string(),
        .package_cache = cache / "pkgs",
        .layer_cache = cache / "layers",
        .fetcher = fetcher.get(),
        .parallelism = static_cast<unsigned>(std::max(1, f.registry.parallel)),
        .progress = nullptr,
    };
    if (terminal) {
      request.progress = [&](const build::BuildEvent& e) {
        using K = build::BuildEvent::Kind;
        switch (e.kind) {
          case K::Fetching:
            say(fmt::format("fetching and extracting {} package(s)", e.total));
            break;
          case K::Downloading:
            say(fmt::format("downloading {}: {}{}", e.what, human_bytes(e.bytes),
                            e.size ? " of " + human_bytes(*e.size) : std::string()));
            break;
          case K::Downloaded:
            say(fmt::format("[{}/{}] downloaded {} ({})", e.index + 1, e.total, e.what,
                            human_bytes(e.bytes)));
            break;
          case K::Fetched:
            say(fmt::format("{} package(s): {} downloaded ({}), {} from the cache", e.total,
                            e.index, human_bytes(e.bytes), e.total - e.index));
            break;
          case K::Planned:
            say(fmt::format("{} environment layer(s)", e.total));
            break;
          case K::LayerReused:
            say(fmt::format("[{}/{}] reused {} ({})", e.index + 1, e.total, e.what,
                            human_bytes(e.bytes)));
            break;
          case K::LayerBuilt:
            say(fmt::format("[{}/{}] built  {} ({})", e.index + 1, e.total, e.what,
                            human_bytes(e.bytes)));
            break;
        }
      };
    }
    auto built = DE_TRY_CTX(build::build_image(request),
                            multi ? "building for " + target : std::string("building"));
    for (const auto& w : built.warnings) log::warn("{}", w);
    results.push_back(std::move(built));
  }

  // 4. Write or push.
  Digest manifest_digest;
  std::vector<Digest> manifests;  // each platform's image manifest
  std::vector<Digest> config_digests;
  for (const auto& r : results) config_digests.push_back(Digest::of(r.image.config_bytes()));
  std::optional<registry::PushResult> pushed;
  if (is_registry_ref(dest)) {
    std::vector<oci::Image> images;
    for (const auto& r : results) images.push_back(r.image);
    auto ref = DE_TRY(parse_registry_ref(dest));
    auto options = DE_TRY(registry_options(f.registry));
    registry::PushOptions push{.compression =
                                   compression == Compression::None ? Compression::Gzip : compression};
    // Several platforms: OCI manifests under an OCI image index, the same bytes (and digests) as
    // -o oci:DIR writes (docs/build.md says why not a Docker manifest list).
    if (multi) push.format = registry::ManifestFormat::Oci;
    pushed = DE_TRY_CTX(multi ? registry::push_index(images, ref, options, push)
                              : registry::push_image(images.front(), ref, options, push),
                        fmt::format("pushing {}", shown_ref(dest)));
    manifest_digest = pushed->manifest_digest;
    manifests = pushed->manifests;
  } else {
    auto ref = DE_TRY(parse_ref(dest, "destination"));
    if (ref.transport == oci::Transport::DockerArchive && ref.selector.empty())
      ref.selector = image_name + ":" + image_tag;
    oci::WriteResult written;
    if (multi) {
      std::vector<oci::Image> images;
      for (const auto& r : results) images.push_back(r.image);
      written = DE_TRY_CTX(oci::write_image_index(images, ref, {.compression = compression}),
                           fmt::format("writing {}", dest));
    } else {
      written = DE_TRY_CTX(oci::write_image(results.front().image, ref, {.compression = compression}),
                           fmt::format("writing {}", dest));
      config_digests.front() = written.config_digest;
    }
    manifest_digest = written.manifest_digest;
    manifests = written.manifests;
  }
  if (manifests.size() != results.size())
    return fail(Code::Internal, "{}: {} manifest(s) written for {} platform(s)", dest,
                manifests.size(), results.size());
  std::uint64_t reused = 0, fresh = 0;
  for (const auto& r : results) {
    reused += r.bytes_reused;
    fresh += r.bytes_new;
  }
  say(fmt::format("wrote {}: {} platform(s), {} reused, {} new, {} {}", dest, results.size(),
                  human_bytes(reused), human_bytes(fresh), multi ? "index" : "manifest",
                  manifest_digest.to_string()));

  if (f.registry.json) {
    auto describe = [&](size_t i) {
      const auto& built = results[i];
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : built.layers)
        layers.push_back({{"label", l.label},
                          {"packages", l.packages},
                          {"digest", l.blob.digest.to_string()},
                          {"size", l.blob.size},
                          {"diff_id", l.diff_id.to_string()},
                          {"reused", l.reused}});
      return nlohmann::json{{"platform", platforms[i]},
                            {"image_platform", built.image.config.platform().to_string()},
                            {"manifest_digest", manifests[i].to_string()},
                            {"config_digest", config_digests[i].to_string()},
                            {"packages", built.package_count},
                            {"base_layers", built.base_layers},
                            {"layers", layers},
                            {"bytes_reused", built.bytes_reused},
                            {"bytes_new", built.bytes_new},
                            {"packages_downloaded", built.packages_downloaded},
                            {"bytes_downloaded", built.bytes_downloaded},
                            {"warnings", built.warnings}};
    };
    nlohmann::json out;
    if (multi) {
      nlohmann::json images = nlohmann::json::array();
      for (size_t i = 0; i < results.size(); ++i) images.push_back(describe(i));
      out = {{"images", images}, {"bytes_reused", reused}, {"bytes_new", fresh}};
      out["index_digest"] = manifest_digest.to_string();
    } else {
      out = describe(0);
    }
    out["image"] = image_name + ":" + image_tag;
    out["destination"] = dest;
    out["manifest_digest"] = manifest_digest.to_string();
    if (pushed)
      out["push"] = {{"media_type", pushed->media_type},
                     {"blobs_uploaded", pushed->blobs_uploaded},
                     {"blobs_skipped", pushed->blobs_skipped},
                     {"blobs_mounted", pushed->blobs_mounted},
                     {"bytes_uploaded", pushed->bytes_uploaded},
                     {"bytes_skipped", pushed->bytes_skipped},
                     {"bytes_mounted", pushed->bytes_mounted}};
    std::fputs((out.dump(2) + "\n").c_str(), stdout);
  }
  return {};
}

}  // namespace

void add_build(CLI::App& parent, CommandTable& commands) {
  auto f = std::make_shared<BuildFlags>();
  auto* sub = parent.add_subcommand(
      "build", "Build an image from a conda environment (@EXPLICIT lock or environment.yml)");
  sub->add_option("env_file", f->env_file,
                  "environment.yml, @EXPLICIT, conda-lock or pixi.lock file "
                  "(default ./environment.yml)");
  sub->add_option("-t,--tag", f->tag, "NAME[:TAG] of the image (image.name)");
  sub->add_option("-o,--output", f->output,
                  "Destination: docker-archive:PATH, oci:DIR, oci-archive:PATH or docker://REF "
                  "(default docker-archive:NAME.tar)");
  sub->add_option("-p,--package", f->specs, "Package spec to install (instead of ENV_FILE)");
  sub->add_option("-c,--channel", f->channels, "Channel for -p specs");
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
  add_lock_selection_flags(sub, f->lock);
  add_registry_options(sub, f->registry, /*platform=*/false);
  on_run(sub, commands, f, run);
}

}  // namespace de::cli
