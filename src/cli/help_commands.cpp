#include "cli/help_commands.hpp"

#include <CLI/Version.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command_spec.hpp"
#include "cli/completion.hpp"
#include "cli/suggest.hpp"
#include "docker_envs/base/io.hpp"
#include "ffi/versions.hpp"

namespace de::cli {

namespace {

std::vector<ffi::LibraryVersion> all_versions() {
  auto out = ffi::library_versions();
  out.push_back({.name = "CLI11", .version = CLI11_VERSION});
  return out;
}

nlohmann::ordered_json version_json() {
  nlohmann::ordered_json libraries = nlohmann::ordered_json::array();
  for (const auto& v : all_versions()) {
    nlohmann::ordered_json o{{"name", v.name}, {"version", v.version}, {"runtime", v.runtime}};
    if (!v.built_with.empty()) o["built_with"] = v.built_with;
    if (!v.detail.empty()) o["detail"] = v.detail;
    libraries.push_back(std::move(o));
  }
  nlohmann::ordered_json doc;
  doc["name"] = kProgram;
  doc["version"] = kVersion;
  doc["libraries"] = std::move(libraries);
  return doc;
}

// Prints `text` on stdout, or writes it to `output` (atomically) when one is given.
Status emit(const std::string& text, const std::string& output) {
  if (!output.empty()) {
    DE_TRY_CTX(write_file_atomic(output, text), "writing " + output);
    return {};
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return {};
}

}  // namespace

std::string version_text() {
  auto versions = all_versions();
  std::size_t width = 0;
  for (const auto& v : versions) width = std::max(width, v.name.size());
  std::string out = fmt::format("{} {}\n", kProgram, kVersion);
  for (const auto& v : versions) {
    std::vector<std::string> notes;
    if (!v.runtime) notes.push_back("compile time");
    if (!v.built_with.empty()) notes.push_back("built with " + v.built_with);
    if (!v.detail.empty()) notes.push_back(v.detail);
    out += fmt::format("  {:<{}}  {}{}\n", v.name, width, v.version,
                       notes.empty() ? "" : fmt::format(" ({})", fmt::join(notes, ", ")));
  }
  return out;
}

void add_version(CLI::App& root, CommandTable& commands) {
  struct Options {
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* sub = root.add_subcommand(
      "version", "Print the version of docker-envs and of the libraries it links");
  sub->add_flag("--json", options->json,
                "Print {\"name\", \"version\", \"libraries\": [{name, version, runtime}...]}");
  on_run(sub, commands, options, [](const Options& o, const Globals&) -> Status {
    std::string text = o.json ? version_json().dump(2) + "\n" : version_text();
    return emit(text, "");
  });
}

void add_completion(CLI::App& root, CommandTable& commands) {
  struct Options {
    std::string shell, output;
  };
  auto options = std::make_shared<Options>();
  auto* sub = root.add_subcommand(
      "completion", "Print a shell completion script (bash, zsh or fish) for docker-envs");
  sub->add_option("SHELL", options->shell, "bash, zsh or fish")
      ->required()
      ->check(one_of({"bash", "zsh", "fish"}));
  sub->add_option("-o,--output", options->output, "Write the script to FILE instead of stdout")
      ->type_name("FILE");
  sub->footer(
      "bash: source <(docker-envs completion bash)   (or install it in "
      "/usr/share/bash-completion/completions/docker-envs)\n"
      "zsh:  source <(docker-envs completion zsh)    (after compinit; or install it as "
      "_docker-envs in $fpath)\n"
      "fish: docker-envs completion fish | source");
  CLI::App* app = &root;
  on_run(sub, commands, options, [app](const Options& o, const Globals&) -> Status {
    CommandSpec spec = describe(*app);
    std::string text = o.shell == "bash"  ? bash_completion(spec)
                       : o.shell == "zsh" ? zsh_completion(spec)
                                          : fish_completion(spec);
    return emit(text, o.output);
  });
}

void add_generate(CLI::App& root, CommandTable& commands) {
  struct Options {
    std::string what, output;
  };
  auto options = std::make_shared<Options>();
  auto* sub = root.add_subcommand("generate", "Write the man page (used by the build)");
  sub->group("");  // hidden: not in --help, completion or the man page
  sub->add_option("WHAT", options->what, "man")->required()->check(one_of({"man"}));
  sub->add_option("-o,--output", options->output, "Write to FILE instead of stdout");
  CLI::App* app = &root;
  on_run(sub, commands, options, [app](const Options& o, const Globals&) -> Status {
    return emit(man_page(describe(*app), kVersion), o.output);
  });
}

}  // namespace de::cli
