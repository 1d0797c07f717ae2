// docker-envs: entry point. Parses the command line (usage errors exit 2), reads the environment,
// runs the chosen command and turns any error into one line on stderr and exit status 1
// (3 when a solve is unsatisfiable).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/help_commands.hpp"
#include "cli/registry_ref.hpp"
#include "cli/suggest.hpp"
#include "docker_envs/base/cleanup.hpp"
#include "docker_envs/base/log.hpp"

namespace de::cli {
void add_env_install(CLI::App& parent, CommandTable& commands);  // env_install.cpp
void add_build(CLI::App& parent, CommandTable& commands);        // build.cpp
void add_solve(CLI::App& parent, CommandTable& commands);        // solve.cpp
void add_lock(CLI::App& parent, CommandTable& commands);         // lock.cpp
void add_cache(CLI::App& parent, CommandTable& commands);        // cache.cpp
}  // namespace de::cli

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnsatisfiable = 3;  // a solve found no solution (the explanation is printed)

void print_error(const de::Error& error) {
  // One line, whatever the message holds (a reader's message may quote multi-line input).
  std::string message = error.to_string();
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  std::string line = std::string(de::cli::kProgram) + ": error: " + message + "\n";
  std::fputs(line.c_str(), stderr);
}

// The error as JSON on stdout, for commands run with --json:
// {"error": {"message": innermost message, "code": "not_found", "context": [outermost first]}}.
void print_json_error(const de::Error& error) {
  std::string code(de::to_string(error.code()));
  for (char& c : code)
    if (c == ' ' || c == '/') c = '_';
  std::vector<std::string> context(error.context().rbegin(), error.context().rend());
  nlohmann::json out = {
      {"error", {{"message", error.message()}, {"code", code}, {"context", context}}}};
  std::string text = out.dump(2) + "\n";
  std::fputs(text.c_str(), stdout);
}

// Whether the chosen (sub)command was given --json.
bool json_requested(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    const CLI::Option* json = sub->get_option_no_throw("--json");
    if ((json && json->count() > 0) || json_requested(*sub)) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace de;
  CLI::App app{"Build and edit container images (docker-archive, OCI layouts) without Docker."};
  app.name(std::string(cli::kProgram));
  app.set_version_flag("--version", [] {
    std::string text = cli::version_text();
    text.pop_back();  // CLI11 ends the line itself
    return text;
  });
  app.require_subcommand(1);
  app.fallthrough();
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string(cli::kProgram) + ": error: " + e.what() +
           "\nRun with --help for more information.\n";
  });
  bool verbose = false, quiet = false;
  auto* verbose_flag = app.add_flag("-v,--verbose", verbose, "Print progress and debug details");
  app.add_flag("-q,--quiet", quiet, "Print only errors")->excludes(verbose_flag);
  std::string progress_mode = "auto";
  app.add_option("--progress", progress_mode,
                 "Progress display on stderr: auto (tty on a terminal, else plain), tty, plain "
                 "(lines, with a heartbeat), json (one event per line)")
      ->check(cli::one_of({"auto", "tty", "plain", "json"}))
      ->capture_default_str();

  cli::CommandTable commands;
  auto* image = app.add_subcommand("image", "Inspect, list, edit and convert images");
  image->require_subcommand(1);
  image->fallthrough();
  cli::add_image_inspect(*image, commands);
  cli::add_image_ls(*image, commands);
  cli::add_image_add_layer(*image, commands);
  cli::add_image_remove_layer(*image, commands);
  cli::add_image_config(*image, commands);
  cli::add_image_copy(*image, commands);
  cli::add_image_pull(*image, commands);
  cli::add_image_push(*image, commands);
  auto* env = app.add_subcommand("env", "Lay out conda environments as they appear in an image");
  env->require_subcommand(1);
  env->fallthrough();
  cli::add_env_install(*env, commands);
  cli::add_build(app, commands);
  cli::add_solve(app, commands);
  cli::add_lock(app, commands);
  cli::add_cache(app, commands);

  // Last: these describe the whole table (completion scripts, the man page).
  cli::add_version(app, commands);
  cli::add_completion(app, commands);
  cli::add_generate(app, commands);

  if (auto unknown = cli::command_word_error(app, argc, argv)) {
    std::string text = std::string(cli::kProgram) + ": error: " + *unknown +
                       "\nRun with --help for more information.\n";
    std::fputs(text.c_str(), stderr);
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (std::string hint = cli::option_hint(app, e); !hint.empty()) {
      std::string text = std::string(cli::kProgram) + ": error: " + e.what() + hint +
                         "\nRun with --help for more information.\n";
      std::fputs(text.c_str(), stderr);
      return kExitUsage;
    }
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  log::set_level(verbose ? log::Level::Debug : quiet ? log::Level::Error : log::Level::Info);
  // Before any thread starts: SIGINT/SIGTERM/SIGHUP remove what is half-written, then exit 128+N.
  if (auto installed = install_signal_cleanup(); !installed) {
    print_error(installed.error());
    return kExitError;
  }

  cli::Globals globals;
  globals.progress = {.mode = quiet ? cli::ProgressMode::Quiet
                                    : cli::parse_progress_mode(progress_mode).value_or(
                                          cli::ProgressMode::Auto),
                      .verbose = verbose};
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    auto parsed = cli::parse_source_date_epoch(epoch);
    if (!parsed) {
      print_error(parsed.error());
      return kExitError;
    }
    globals.source_date_epoch = *parsed;
  }

  if (!commands.action) {  // unreachable: a subcommand is required
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  Status status;
  try {
    status = commands.action(globals);
  } catch (const std::exception& e) {
    // Last resort: no input should get here (each cause is fixed where it is found, see
    // fuzz/), but an escaped exception must still be one error line and exit 1, not an abort.
    status = fail(Code::Internal, "internal error (please report it): {}", e.what());
  }
  if (!status && json_requested(app)) print_json_error(status.error());
  if (!status && status.error().code() == Code::Unsatisfiable) {
    // The explanation spans lines (problems, dependency chains): printed as it is.
    std::string text = std::string(cli::kProgram) + ": " + status.error().to_string();
    if (!text.ends_with('\n')) text += '\n';
    std::fputs(text.c_str(), stderr);
    return kExitUnsatisfiable;
  }
  if (!status) {
    print_error(status.error());
    return kExitError;
  }
  return 0;
}
