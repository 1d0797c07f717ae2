#include "cli/solve_options.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "docker_envs/base/log.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/match_spec.hpp"

namespace de::cli {

namespace {

namespace fs = std::filesystem;

bool looks_like_env_file(const std::string& arg) {
  for (std::string_view ext : {".yml", ".yaml", ".lock", ".txt"})
    if (arg.ends_with(ext)) return true;
  std::error_code ec;
  return fs::is_regular_file(arg, ec);
}

// A channel that is a local path, as an absolute path without "." or ".." components: the same
// text for the same directory wherever it was written from (a lock records it).
std::string normal_channel_path(const std::string& channel, const fs::path& base) {
  bool relative = channel == "." || channel == ".." || channel.starts_with("./") ||
                  channel.starts_with("../");
  if (!relative && !channel.starts_with("/")) return channel;  // a name or URL
  fs::path path = relative ? base / channel : fs::path(channel);
  std::string out = path.lexically_normal().string();
  if (out.size() > 1 && out.ends_with('/')) out.pop_back();
  return out;
}

// "${NAME}" and "$NAME" in channel text, from the environment; unknown names are an error (a
// silently empty token would give a confusing 404 later).
Result<std::string> expand_vars(const std::string& text, const GetEnv& getenv) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    std::string name;
    std::size_t end = i + 1;
    if (end < text.size() && text[end] == '{') {
      auto close = text.find('}', end);
      if (close == std::string::npos)
        return fail(Code::InvalidArgument, "unclosed ${{ in '{}'", text);
      name = text.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
        name += text[end++];
    }
    if (name.empty()) {
      out += '$';
      continue;
    }
    auto value = getenv(name);
    if (!value)
      return fail(Code::InvalidArgument, "channel '{}' uses ${} but it is not set",
                  conda::redact_url(text), name);
    out += *value;
    i = end - 1;
  }
  return out;
}

}  // namespace

void add_solve_flags(CLI::App* sub, SolveFlags& flags, SolveFlagsOptions options) {
  if (options.positional)
    // Nothing to solve is a usage error (exit 2), caught before any work.
    sub->parse_complete_callback([&flags] {
      std::error_code ec;
      if (flags.args.empty() && flags.file.empty() && flags.specs.empty() &&
          !fs::is_regular_file("environment.yml", ec))
        throw CLI::ValidationError(
            "nothing to solve: give an environment file or match specs (no environment.yml in "
            "the current directory)");
    });
  if (options.positional)
    sub->add_option("args", flags.args,
                    "[ENV_FILE] [SPEC]...: an environment.yml, then match specs to add");
  sub->add_option("-f,--file", flags.file, "The environment file (environment.yml)");
  sub->add_option("-c,--channel", flags.channels,
                  "Channel (name, URL or path); repeatable, highest priority first, before the "
                  "file's channels")
      ->allow_extra_args(false);
  if (options.spec_option)
    sub->add_option("--spec", flags.specs, "A match spec to add (repeatable)")
        ->allow_extra_args(false);
  sub->add_option("--platform", flags.platform,
                  "Target platform (linux-64, linux-aarch64, linux-ppc64le, osx-64, osx-arm64, "
                  "win-64); default linux-64");
  sub->add_option("--channel-priority", flags.channel_priority,
                  "strict (default), flexible or disabled")
      ->check(CLI::IsMember({"strict", "flexible", "disabled"}));
  sub->add_option("--repodata-cache", flags.cache_dir,
                  "Directory of the parsed-repodata cache (default "
                  "$XDG_CACHE_HOME/docker-envs/repodata; downloaded repodata.json under "
                  "DIR/channels)");
  sub->add_flag("--offline", flags.offline,
                "Use only cached repodata; fail, naming the channel, when a copy is missing");
}

GetEnv process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string default_repodata_cache(const GetEnv& getenv) {
  if (auto xdg = getenv("XDG_CACHE_HOME"); xdg && !xdg->empty())
    return (fs::path(*xdg) / "docker-envs/repodata").string();
  if (auto home = getenv("HOME"); home && !home->empty())
    return (fs::path(*home) / ".cache/docker-envs/repodata").string();
  return (fs::temp_directory_path() / "docker-envs/repodata").string();
}

Result<SolveRequest> make_solve_request(const SolveFlags& flags, const GetEnv& getenv) {
  SolveRequest out;
  auto& req = out.request;
  req.platform = DE_TRY(conda::parse_platform(flags.platform));
  req.channel_priority = DE_TRY(conda::parse_channel_priority(flags.channel_priority));

  auto [file, cli_specs] = split_env_file_and_specs(flags.args, flags.file);
  cli_specs.insert(cli_specs.end(), flags.specs.begin(), flags.specs.end());
  if (file.empty() && cli_specs.empty()) {
    std::error_code ec;
    if (fs::is_regular_file("environment.yml", ec))
      file = "environment.yml";
    else
      return fail(Code::InvalidArgument,
                  "nothing to solve: give an environment file or match specs (no "
                  "environment.yml in the current directory)");
  }

  std::vector<std::string> channels;
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  auto add_channel = [&](const std::string& text, const fs::path& base) -> Status {
    std::string expanded = normal_channel_path(DE_TRY(expand_vars(text, getenv)), base);
    if (std::find(channels.begin(), channels.end(), expanded) == channels.end())
      channels.push_back(std::move(expanded));
    return {};
  };
  for (const auto& c : flags.channels) DE_TRY(add_channel(c, cwd));
  if (!file.empty()) {
    auto spec = DE_TRY(conda::load_environment_spec(file));
    for (const auto& w : spec.warnings) log::warn("{}", w);
    // A relative channel path in the file is relative to the file's directory.
    fs::path dir = fs::absolute(fs::path(file)).parent_path();
    for (const auto& c : spec.channels) DE_TRY(add_channel(c, dir));
    req.specs = spec.dependencies_for(req.platform);
    out.spec = std::move(spec);
  }
  // "nodefaults" in a file only means "do not add defaults": we never add any.
  std::erase(channels, std::string("nodefaults"));
  req.channels = std::move(channels);
  for (auto& s : cli_specs) req.specs.push_back(std::move(s));
  for (const auto& s : req.specs)
    DE_TRY_CTX(conda::MatchSpec::parse(s), fmt::format("spec '{}'", s));
  if (req.channels.empty())
    return fail(Code::InvalidArgument,
                "no channels: give -c CHANNEL or list `channels:` in the environment file");

  // The file's virtual_packages, then CONDA_OVERRIDE_* over them (as flags override the file).
  auto& o = req.virtual_overrides;
  if (out.spec) o = out.spec->virtual_packages;
  auto override_with = [&](std::optional<std::string>& slot, const char* variable) {
    if (auto v = getenv(variable)) slot = std::move(v);
  };
  override_with(o.glibc, "CONDA_OVERRIDE_GLIBC");
  override_with(o.cuda, "CONDA_OVERRIDE_CUDA");
  override_with(o.osx, "CONDA_OVERRIDE_OSX");
  override_with(o.linux, "CONDA_OVERRIDE_LINUX");
  override_with(o.win, "CONDA_OVERRIDE_WIN");
  override_with(o.archspec, "CONDA_OVERRIDE_ARCHSPEC");
  req.solver_options.cache_dir =
      flags.cache_dir.empty() ? default_repodata_cache(getenv) : flags.cache_dir;
  req.repodata = {.cache_dir = req.solver_options.cache_dir, .offline = flags.offline};
  return out;
}

EnvFileAndSpecs split_env_file_and_specs(const std::vector<std::string>& args,
                                         const std::string& file) {
  EnvFileAndSpecs out{.file = file, .specs = {}};
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i == 0 && out.file.empty() && looks_like_env_file(args[0]))
      out.file = args[0];
    else
      out.specs.push_back(args[i]);
  }
  return out;
}

conda::LockSelection LockSelectionFlags::selection(std::string platform) const {
  conda::LockSelection out{.environment = environment, .platform = std::move(platform)};
  for (const auto& c : categories)
    if (std::find(out.categories.begin(), out.categories.end(), c) == out.categories.end())
      out.categories.push_back(c);
  return out;
}

void add_lock_selection_flags(CLI::App* sub, LockSelectionFlags& flags) {
  sub->add_option("-e,--environment", flags.environment,
                  "Environment of a pixi lock to install (default: default)");
  sub->add_option("--category", flags.categories,
                  "conda-lock category to install besides main (repeatable)");
}

}  // namespace de::cli
