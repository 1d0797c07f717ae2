// `docker-envs lock [ENV_FILE] [-c CHANNEL]... [SPEC]... [--platform P] -o FILE
// [--format explicit|conda-lock]`: solves an environment as `docker-envs solve` does and writes
// the result as a lock file conda, micromamba and `docker-envs env install` / `build` consume
// without solving again. The file is written atomically (temp + rename); an unsatisfiable request
// writes nothing and exits with status 3.
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::cli {

void add_lock(CLI::App& parent, CommandTable& commands);

namespace {

struct LockCommand {
  SolveFlags flags;
  std::string output;
  std::string format = "explicit";
};

// A hash of what the lock was made from (channels, specs, pins, platform, priority, virtual
// package overrides): equal inputs give equal hashes, so a tool can tell whether a lock is stale.
std::string content_hash(const conda::EnvironmentSolveRequest& r) {
  nlohmann::ordered_json doc;
  std::vector<std::string> channels;
  for (const auto& c : r.channels) channels.push_back(conda::redact_url(c));
  doc["channels"] = channels;
  doc["specs"] = r.specs;
  doc["pins"] = r.pins;
  doc["platform"] = r.platform;
  doc["channel_priority"] = static_cast<int>(r.channel_priority);
  // The target's virtual packages change the answer too (only those set, so that locks made
  // without overrides keep their hash).
  const auto& o = r.virtual_overrides;
  for (const auto& [name, value] :
       {std::pair{"__glibc", &o.glibc}, {"__cuda", &o.cuda}, {"__osx", &o.osx},
        {"__linux", &o.linux}, {"__win", &o.win}, {"__archspec", &o.archspec}})
    if (*value) doc["virtual_packages"][name] = **value;
  Sha256 h;
  h.update(doc.dump());
  return h.finish().hex();
}

Status run(const LockCommand& cmd, const Globals&) {
  auto request = DE_TRY(make_solve_request(cmd.flags, process_env()));
  auto fetcher = conda::make_fetcher();
  auto outcome = DE_TRY(conda::solve_environment(request.request, *fetcher));
  if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
    return fail(Code::Unsatisfiable, "{}", unsolvable->explanation);
  const auto& packages = std::get<conda::Solution>(outcome).packages;
  const std::string& platform = request.request.platform;

  std::string text;
  if (cmd.format == "conda-lock") {
    std::vector<std::string> sources;
    if (!cmd.flags.file.empty()) {
      sources.push_back(cmd.flags.file);
    } else if (!cmd.flags.args.empty() && (cmd.flags.args.front().ends_with(".yml") ||
                                           cmd.flags.args.front().ends_with(".yaml"))) {
      sources.push_back(cmd.flags.args.front());
    }
    text = DE_TRY(conda::write_conda_lock(packages, {.platform = platform,
                                                     .channels = request.request.channels,
                                                     .content_hash = content_hash(request.request),
                                                     .sources = sources}));
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
  log::info("locked {} package(s) for {} into {} ({})", packages.size(), platform, cmd.output,
            cmd.format);
  return {};
}

}  // namespace

void add_lock(CLI::App& parent, CommandTable& commands) {
  auto cmd = std::make_shared<LockCommand>();
  auto* sub = parent.add_subcommand(
      "lock", "Solve an environment and write a lock file (@EXPLICIT or conda-lock v1)");
  add_solve_flags(sub, cmd->flags);
  sub->add_option("-o,--output", cmd->output, "Lock file to write (replaced atomically)")
      ->required();
  sub->add_option("--format", cmd->format,
                  "explicit (default: @EXPLICIT URLs with sha256, for conda/micromamba --file) or "
                  "conda-lock (conda-lock v1 YAML)")
      ->check(CLI::IsMember({"explicit", "conda-lock"}));
  sub->footer(
      "Exit status: 0 written, 1 error, 2 usage error, 3 the request cannot be satisfied (nothing "
      "is written).");
  on_run(sub, commands, cmd, run);
}

}  // namespace de::cli
