// `docker-envs lock [ENV_FILE] [-c CHANNEL]... [SPEC]... [--platform P] [-o FILE]
// [--format explicit|conda-lock]`: solves an environment as `docker-envs solve` does and writes
// the result as a lock file conda, micromamba and `docker-envs env install` / `build` consume
// without solving again. Without -o the file is conda-lock.yml beside the environment file (in the
// working directory with specs only); without --format the format follows the file name (.yml and
// .yaml: conda-lock, anything else: @EXPLICIT). The file is written atomically (temp + rename); an
// unsatisfiable request writes nothing and exits with status 3.
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/build/pip_section.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/lock_hash.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::cli {

void add_lock(CLI::App& parent, CommandTable& commands);
// $XDG_CACHE_HOME/docker-envs, else ~/.cache/docker-envs (cache.cpp).
std::filesystem::path default_cache_root();

namespace {

struct LockCommand {
  SolveFlags flags;
  std::string output;
  std::string format;  // "" = from the output's name
};

namespace fs = std::filesystem;

// -o's default: conda-lock.yml beside the environment file (./environment.yml when there is
// neither a file nor a spec, as the solve takes), else in the working directory.
std::string default_output(const SolveFlags& flags) {
  auto [file, specs] = split_env_file_and_specs(flags.args, flags.file);
  if (file.empty() && specs.empty() && flags.specs.empty()) file = "environment.yml";
  if (file.empty()) return "conda-lock.yml";
  return (fs::path(file).parent_path() / "conda-lock.yml").string();
}

std::string format_for(const std::string& output) {
  return output.ends_with(".yml") || output.ends_with(".yaml") ? "conda-lock" : "explicit";
}

Status run(const LockCommand& options, const Globals& globals) {
  LockCommand cmd = options;
  if (cmd.output.empty()) cmd.output = default_output(cmd.flags);
  if (cmd.format.empty()) cmd.format = format_for(cmd.output);
  auto request = DE_TRY(make_solve_request(cmd.flags, process_env()));
  auto fetcher = conda::make_fetcher();
  ProgressDisplay display(globals.progress);  // the solve downloads repodata: a stage
  display.stage_start("solve", fmt::format("{} spec(s) for {}", request.request.specs.size(),
                                           request.request.platform));
  auto outcome = DE_TRY(conda::solve_environment(request.request, *fetcher));
  display.stage_end("solve", "");
  if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
    return fail(Code::Unsatisfiable, "{}", unsolvable->explanation);
  const auto& packages = std::get<conda::Solution>(outcome).packages;
  const std::string& platform = request.request.platform;
  // The environment file's pip section, resolved for the solved python (build does the same).
  build::ResolvedPip pip;
  if (request.spec && !request.spec->pip.empty()) {
    if (cmd.format != "conda-lock")
      return fail(Code::InvalidArgument,
                  "{}: the pip section cannot be written in the @EXPLICIT format (conda packages "
                  "only); use --format conda-lock or a .yml output",
                  request.spec->file.string());
    pip = DE_TRY(build::resolve_pip_section(*request.spec, packages, platform,
                                            request.request.virtual_overrides,
                                            {.cache_root = default_cache_root(),
                                             .getenv = process_env(),
                                             .offline = cmd.flags.offline,
                                             .extra_ca_file = {},
                                             .reporter = display.reporter()}));
  }

  std::vector<std::string> pip_lines;
  if (request.spec)
    for (const auto& item : request.spec->pip) pip_lines.push_back(item.text);
  std::string text;
  if (cmd.format == "conda-lock") {
    std::vector<std::string> sources;
    if (auto file = split_env_file_and_specs(cmd.flags.args, cmd.flags.file).file; !file.empty())
      sources.push_back(file);
    text = DE_TRY(conda::write_conda_lock(packages, {.platform = platform,
                                                     .channels = request.request.channels,
                                                     .content_hash = conda::solve_request_hash(request.request, pip_lines),
                                                     .sources = sources,
                                                     .pypi = pip.lock_entries}));
  } else {
    text = DE_TRY(conda::write_explicit(packages, platform));
  }
  for (const auto& r : packages)
    if (conda::redact_url(r.url) != r.url) {
      log::warn("{}: package URLs carry a channel token or password; keep the file private",
                cmd.output);
      break;
    }
  DE_TRY_CTX(write_file_atomic(cmd.output, text), "writing " + cmd.output);
  log::info("locked {} package(s){} for {} into {} ({})", packages.size(),
            pip.lock_entries.empty()
                ? std::string()
                : fmt::format(" and {} pypi package(s)", pip.lock_entries.size()),
            platform, cmd.output, cmd.format);
  return {};
}

}  // namespace

void add_lock(CLI::App& parent, CommandTable& commands) {
  auto cmd = std::make_shared<LockCommand>();
  auto* sub = parent.add_subcommand(
      "lock", "Solve an environment and write a lock file (@EXPLICIT or conda-lock v1)");
  add_solve_flags(sub, cmd->flags);
  sub->add_option("-o,--output", cmd->output,
                  "Lock file to write, replaced atomically (default: conda-lock.yml beside the "
                  "environment file)")
      ->type_name("FILE");
  sub->add_option("--format", cmd->format,
                  "explicit (@EXPLICIT URLs with sha256, for conda/micromamba --file) or "
                  "conda-lock (conda-lock v1 YAML); default: conda-lock for a .yml/.yaml output, "
                  "else explicit")
      ->check(CLI::IsMember({"explicit", "conda-lock"}));
  sub->footer(
      "Exit status: 0 written, 1 error, 2 usage error, 3 the request cannot be satisfied (nothing "
      "is written).");
  on_run(sub, commands, cmd, run);
}

}  // namespace de::cli
