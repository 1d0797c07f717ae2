// `docker-envs solve [ENV_FILE] [-c CHANNEL]... [SPEC]... [--platform P] [--json]`: resolves an
// environment into exact packages for the target platform and prints them, dependencies first.
// An unsatisfiable request prints the explanation and exits with status 3.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/solve_options.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::cli {

void add_solve(CLI::App& parent, CommandTable& commands);

namespace {

struct SolveCommand {
  SolveFlags flags;
  bool json = false;
};

std::string to_json(const conda::Solution& solution) {
  nlohmann::ordered_json packages = nlohmann::ordered_json::array();
  for (const auto& r : solution.packages) {
    nlohmann::ordered_json p;
    p["name"] = r.name;
    p["version"] = r.version;
    p["build"] = r.build;
    p["build_number"] = r.build_number;
    p["channel"] = r.channel;
    p["subdir"] = r.subdir;
    p["url"] = conda::redact_url(r.url);
    p["sha256"] = r.sha256 ? nlohmann::ordered_json(r.sha256->hex()) : nullptr;
    p["md5"] = r.md5 ? nlohmann::ordered_json(r.md5->hex()) : nullptr;
    packages.push_back(std::move(p));
  }
  nlohmann::ordered_json doc;
  doc["packages"] = std::move(packages);
  return doc.dump(2) + "\n";
}

std::string to_table(const conda::Solution& solution) {
  std::size_t wn = 4, wv = 7, wb = 5;
  for (const auto& r : solution.packages) {
    wn = std::max(wn, r.name.size());
    wv = std::max(wv, r.version.size());
    wb = std::max(wb, r.build.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {}\n", "name", wn, "version", wv, "build",
                                wb, "channel");
  for (const auto& r : solution.packages)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {}/{}\n", r.name, wn, r.version, wv, r.build, wb,
                       r.channel, r.subdir);
  return out;
}

Status run(const SolveCommand& cmd, const Globals&) {
  auto request = DE_TRY(make_solve_request(cmd.flags, process_env()));
  if (request.spec && !request.spec->pip.empty())
    log::warn("{}: the pip section ({} item(s)) is not resolved by `solve`; `lock` and `build` "
              "resolve it",
              request.spec->file.string(), request.spec->pip.size());
  auto fetcher_ptr = conda::make_fetcher();
  auto& fetcher = *fetcher_ptr;
  auto outcome = DE_TRY(conda::solve_environment(request.request, fetcher));
  if (auto* unsolvable = std::get_if<conda::Unsolvable>(&outcome))
    return fail(Code::Unsatisfiable, "{}", unsolvable->explanation);
  const auto& solution = std::get<conda::Solution>(outcome);
  std::string text = cmd.json ? to_json(solution) : to_table(solution);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!cmd.json)
    log::info("{} package(s) for {}", solution.packages.size(), request.request.platform);
  return {};
}

}  // namespace

void add_solve(CLI::App& parent, CommandTable& commands) {
  auto cmd = std::make_shared<SolveCommand>();
  auto* sub = parent.add_subcommand(
      "solve", "Resolve an environment (environment.yml and/or match specs) into exact packages");
  add_solve_flags(sub, cmd->flags);
  sub->add_flag("--json", cmd->json,
                "Print {\"packages\":[{name, version, build, build_number, channel, subdir, url, "
                "sha256, md5}...]}");
  sub->footer(
      "Exit status: 0 solved, 1 error, 2 usage error, 3 the request cannot be satisfied.\n"
      "Virtual packages of the target follow CONDA_OVERRIDE_GLIBC, _CUDA, _OSX, _LINUX, _WIN, "
      "_ARCHSPEC.");
  on_run(sub, commands, cmd, run);
}

}  // namespace de::cli
