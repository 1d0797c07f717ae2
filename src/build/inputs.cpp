// resolve_inputs(): the environment file, specs, channels and overrides become a BuildInputs.
#include "docker_envs/build/inputs.hpp"

#include <nlohmann/json.hpp>

#include "build/registry_ref.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/build/prefix_environment.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::build {

namespace {

namespace fs = std::filesystem;

using detail::is_registry_ref;

// "[\"a\",\"b\"]" (JSON: the exec form) or a plain string (command_from_string: one word, or
// the shell form).
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
  return command_from_string(text);
}

Result<NameValue> parse_name_value(std::string_view text, std::string_view flag) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return fail(Code::InvalidArgument, "{} '{}' is not NAME=VALUE", flag, text);
  return NameValue{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
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

// --from-prefix: the records of an existing environment. Returns the text the spec hash covers.
Result<std::string> read_prefix(const InputOptions& o, BuildInputs& in, std::string& platform) {
  if (!o.env_file.empty() || !o.lock_file.empty() || !o.specs.empty() || !o.channels.empty())
    return fail(Code::InvalidArgument,
                "--from-prefix {}: the packages are that environment's; an environment file, "
                "--lock, -p or -c cannot be given with it",
                o.from_prefix);
  auto env = DE_TRY_CTX(read_prefix_environment(o.from_prefix), "--from-prefix");
  if (!env.platform.empty()) platform = env.platform;
  if (auto w = unowned_files_warning(o.from_prefix, env.unowned); !w.empty())
    in.warnings.push_back(std::move(w));
  in.env_file = o.from_prefix;
  auto dir = fs::path(o.from_prefix).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  in.declared.name = dir.filename().string();
  std::string hashed = "prefix";
  for (const auto& r : env.packages)
    hashed += fmt::format("\n{} {}", r.url,
                          r.sha256 ? r.sha256->hex() : (r.md5 ? r.md5->hex() : std::string()));
  in.packages = std::move(env.packages);
  return hashed;
}

// The lock selection of a build: PyPI entries are installed (build_image), not refused.
conda::LockSelection build_selection(const conda::LockSelection& selection) {
  conda::LockSelection out = selection;
  out.pypi = true;
  return out;
}

// ENV_FILE --lock LOCK: the image section, name and variables from ENV_FILE (not solved), the
// packages from LOCK (read per platform, by content). Returns the text the spec hash covers.
Result<std::string> read_with_lock(const InputOptions& o, BuildInputs& in, std::string& platform) {
  if (!o.specs.empty() || !o.channels.empty())
    return fail(Code::InvalidArgument,
                "--lock {}: the packages are the lock's; -p/-c cannot add to them", o.lock_file);
  in.env_file = o.env_file.empty() ? "environment.yml" : o.env_file;
  auto text = DE_TRY_CTX(read_file(in.env_file, 256 << 20), "reading the environment file");
  if (is_explicit(text) || conda::looks_like_yaml_lock(text))
    return fail(Code::InvalidArgument,
                "{} is a lock itself: with --lock {}, give the environment.yml the lock was made "
                "from",
                in.env_file, o.lock_file);
  auto dir = fs::path(in.env_file).has_parent_path() ? fs::path(in.env_file).parent_path() : ".";
  in.declared = DE_TRY(parse_environment_image(text, in.env_file, dir));
  auto lock = DE_TRY_CTX(read_file(o.lock_file, 256 << 20), "reading the lock file");
  // The default platform: the lock's own (its only one, or linux-64 among several).
  if (auto first = conda::parse_lockfile(lock, o.lock_file, build_selection(o.lock));
      first && !first->subdir.empty())
    platform = first->subdir;
  in.lock_file = o.lock_file;
  in.locked = o.locked;
  std::string hashed = text + "\n--lock\n" + lock;
  in.lock_text = std::move(lock);
  return hashed;
}

// The input: @EXPLICIT, a conda-lock, an environment.yml (with its image: section), or specs.
// Returns the text the spec hash covers.
Result<std::string> read_environment(const InputOptions& o, BuildInputs& in,
                                     std::string& platform) {
  if (o.locked && o.lock_file.empty())
    return fail(Code::InvalidArgument, "--locked needs --lock LOCKFILE");
  if (!o.from_prefix.empty() &&
      (o.lock.environment != "default" || o.lock.categories != std::vector<std::string>{"main"}))
    return fail(Code::InvalidArgument,
                "-e/--environment and --category select from a lock, not from --from-prefix");
  if (!o.from_prefix.empty()) return read_prefix(o, in, platform);
  if (!o.lock_file.empty()) return read_with_lock(o, in, platform);
  std::string hashed;
  in.solve = !o.specs.empty();
  in.env_file = o.env_file;
  if (in.env_file.empty() && o.specs.empty()) in.env_file = "environment.yml";
  if (!in.env_file.empty()) {
    const std::string& env_file = in.env_file;
    auto text = DE_TRY_CTX(read_file(env_file, 256 << 20), "reading the environment file");
    hashed = text;
    auto dir = fs::path(env_file).has_parent_path() ? fs::path(env_file).parent_path() : ".";
    if ((is_explicit(text) || conda::looks_like_yaml_lock(text)) &&
        (!o.specs.empty() || !o.channels.empty()))
      return fail(Code::InvalidArgument,
                  "{} is a lock: its packages are exact, -p/-c cannot add to them", env_file);
    if (conda::looks_like_yaml_lock(text)) {
      // conda-lock or pixi: the packages of each platform are read per platform; the default
      // platform is the selected environment's only one (else linux-64).
      auto only = conda::parse_lockfile(text, env_file, build_selection(o.lock));
      platform = only ? only->subdir : "linux-64";
      in.lock_text = std::move(text);
    } else if (o.lock.environment != "default" ||
               o.lock.categories != std::vector<std::string>{"main"}) {
      // A typo must not pass silently: the selection only means something for a YAML lock.
      return fail(Code::InvalidArgument,
                  "-e/--environment and --category select from a conda-lock or pixi lock; {} is "
                  "not one",
                  env_file);
    } else if (is_explicit(text)) {
      auto env = DE_TRY(conda::parse_explicit(text, env_file));
      in.packages = std::move(env.packages);
      if (!env.platform.empty()) platform = env.platform;
    } else {
      in.declared = DE_TRY(parse_environment_image(text, env_file, dir));
      in.solve = true;
      in.solve_file = env_file;
    }
  }
  if (!o.channels.empty() && !in.solve)
    return fail(Code::InvalidArgument, "-c CHANNEL needs specs to solve (-p or environment.yml)");
  if (!o.specs.empty()) hashed += fmt::format("\n-p {}", fmt::join(o.specs, " "));
  if (!o.channels.empty()) hashed += fmt::format("\n-c {}", fmt::join(o.channels, " "));
  return hashed;
}

// Flags override the file.
Status apply_overrides(const ImageOverrides& f, ImageSpec& spec) {
  if (!f.base.empty()) spec.base = f.base;
  if (!f.name.empty()) spec.name = f.name;
  if (!f.prefix.empty()) spec.prefix = f.prefix;
  if (!f.platforms.empty()) spec.platforms = f.platforms;
  if (!f.entrypoint.empty()) spec.entrypoint = DE_TRY(parse_command(f.entrypoint, "--entrypoint"));
  if (!f.cmd.empty()) spec.cmd = DE_TRY(parse_command(f.cmd, "--cmd"));
  if (!f.workdir.empty()) spec.workdir = f.workdir;
  if (!f.user.empty()) spec.user = f.user;
  for (const auto& e : f.env) spec.env.push_back(DE_TRY(parse_name_value(e, "--env")));
  for (const auto& l : f.labels) spec.labels.push_back(DE_TRY(parse_name_value(l, "--label")));
  for (const auto& file : f.files)
    spec.files.push_back(DE_TRY_CTX(FileSpec::parse(file), "--file"));
  if (!f.layering.empty()) spec.strategy = DE_TRY(parse_layer_strategy(f.layering));
  if (f.max_layers) spec.max_layers = f.max_layers;
  return {};
}

// The destination (default from the image name) and the layer compression it takes.
Status resolve_destination(const InputOptions& o, BuildInputs& in) {
  in.destination = o.output;
  if (in.destination.empty()) {
    in.destination = default_destination(in.image_name, in.image_tag, in.multi());
  }
  const std::string& dest = in.destination;
  std::optional<oci::ImageRef> ref;
  if (is_registry_ref(dest)) {
    DE_TRY_CTX(detail::registry_ref(dest), fmt::format("destination '{}'", dest));
  } else {
    ref = DE_TRY_CTX(oci::ImageRef::parse(dest), fmt::format("destination '{}'", dest));
    if (ref->transport == oci::Transport::Scratch)
      return fail(Code::InvalidArgument, "destination '{}': scratch can only be a source", dest);
  }
  if (!o.compression.empty())
    in.compression = DE_TRY_CTX(parse_compression(o.compression), std::string("--compression"));
  if (ref) {
    bool docker_archive = ref->transport == oci::Transport::DockerArchive ||
                          (ref->transport == oci::Transport::Auto && ref->path.ends_with(".tar"));
    // A docker-archive's manifest.json has no platforms: `docker load` would load every entry
    // as a separate image and give the tag to the last one, whatever the host's platform.
    if (docker_archive && in.multi())
      return fail(Code::InvalidArgument,
                  "{}: a docker-archive holds one platform per tag and `docker load` cannot pick "
                  "one of {} ({}); write them all to oci-archive:PATH or oci:DIR, push them with "
                  "-o docker://REF, or build one with --platform {}",
                  dest, in.platforms.size(), fmt::join(in.platforms, ", "), in.platforms.front());
    if (docker_archive) in.compression = Compression::None;  // docker-archive holds plain tars
  }
  return {};
}

// --offline: a registry base or destination would need the network.
Status check_offline_inputs(const BuildInputs& in) {
  if (!base_is_local(in.base))
    return fail(Code::InvalidArgument,
                "--offline: the base image {} is read from a registry; give a local one "
                "(--base scratch, docker-archive:PATH, oci:DIR or oci-archive:PATH)",
                in.base);
  if (is_registry_ref(in.destination))
    return fail(Code::InvalidArgument,
                "--offline: the destination {} is a registry; write to a file or directory (-o "
                "docker-archive:PATH, oci:DIR, oci-archive:PATH) and push it later",
                in.destination);
  return {};
}

}  // namespace

std::string default_destination(const std::string& name, const std::string& tag, bool multi) {
  std::string base_name = name.substr(name.rfind('/') + 1);
  if (multi) return fmt::format("oci:{}:{}", base_name, tag);
  // One file per tag: quick:1 and quick:2 must not overwrite each other; `latest` keeps NAME.tar.
  std::string file = tag == "latest" ? base_name : base_name + "-" + tag;
  return fmt::format("docker-archive:{}.tar:{}:{}", file, name, tag);
}

bool base_is_local(const std::string& base) {
  if (base == "scratch") return true;
  if (is_registry_ref(base)) return false;
  std::error_code ec;
  return base.starts_with("docker-archive:") || base.starts_with("oci:") ||
         base.starts_with("oci-archive:") || fs::exists(base, ec);
}

Result<BuildInputs> resolve_inputs(const InputOptions& options) {
  BuildInputs in;
  std::string platform = "linux-64";
  std::string hashed = DE_TRY(read_environment(options, in, platform));
  in.spec_hash = Digest::of(hashed);
  ImageSpec& spec = in.declared.image;
  DE_TRY(apply_overrides(options.image, spec));

  in.platforms = {platform};
  if (spec.platforms) {
    if (spec.platforms->empty())
      return fail(Code::InvalidArgument, "image.platforms is empty: name at least one platform");
    if (!in.solve && !in.lock_text &&
        (spec.platforms->size() != 1 ||
         (platform != spec.platforms->front() && platform != "noarch")))
      return fail(Code::InvalidArgument, "{} is a lock for {}, not {}", in.env_file, platform,
                  fmt::join(*spec.platforms, ", "));
    in.platforms = *spec.platforms;
  }
  for (const auto& p : in.platforms) DE_TRY(image_platform(p));

  std::string name =
      spec.name.value_or(in.declared.name.empty() ? "environment" : in.declared.name);
  std::tie(in.image_name, in.image_tag) = split_tag(name);
  if (auto valid = reference_name(in.image_name), tag = reference_tag(in.image_tag);
      valid != in.image_name || tag != in.image_tag) {
    // `docker load` refuses names outside the reference grammar (uppercase, spaces, ...).
    log::warn("image name '{}' is not a valid image reference; using '{}:{}'", name, valid, tag);
    in.image_name = valid;
    in.image_tag = tag;
  }
  DE_TRY(resolve_destination(options, in));
  if (spec.user) in.owner = DE_TRY(Owner::parse(*spec.user));
  if (spec.entrypoint && !spec.entrypoint->empty() && spec.cmd && is_shell_form(*spec.cmd))
    in.warnings.push_back(fmt::format(
        "image.cmd '{}' is a shell form (/bin/sh -c, as a Dockerfile's CMD written as a string), "
        "and with an entrypoint it becomes the entrypoint's arguments; write the arguments as a "
        "list ([a, b]) instead",
        spec.cmd->back()));
  in.base = spec.base.value_or("debian:bookworm-slim");
  // A path that is not there is a mistake, not a Docker Hub name (image.base is already resolved
  // against the env file; --base against the working directory).
  if (!base_is_local(in.base) && base_is_path(in.base, "."))
    return fail(Code::NotFound,
                "base image {}: no such file or directory (a registry image is docker://REF)",
                in.base);
  in.offline = options.offline;
  if (in.offline) DE_TRY(check_offline_inputs(in));
  return in;
}

}  // namespace de::build
