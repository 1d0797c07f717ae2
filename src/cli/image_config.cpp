// `docker-envs image config SRC DEST [--env K=V]... [--entrypoint JSON] [--cmd JSON] [--workdir P]
// [--user U] [--label K=V]... [--expose PORT]... [--platform P]`: edits the container config of
// every platform of a multi-platform image, or of the one --platform names.
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::cli {
namespace {

struct ConfigOptions {
  std::string source, destination;
  std::vector<std::string> env, labels, expose;
  std::optional<std::string> entrypoint, cmd, workdir, user;
  std::string platform;
};

Result<std::pair<std::string, std::string>> split_key_value(std::string_view spec,
                                                            std::string_view option) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos)
    return fail(Code::InvalidArgument, "{} '{}': expected KEY=VALUE", option, spec);
  return std::pair{std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
}

// A JSON array of strings, as in a Dockerfile's exec form: '["/bin/sh", "-c", "echo hi"]'.
Result<std::vector<std::string>> parse_string_array(std::string_view text,
                                                    std::string_view option) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array())
    return fail(Code::InvalidArgument,
                "{} '{}': expected a JSON array of strings, e.g. '[\"/bin/sh\"]'", option, text);
  std::vector<std::string> out;
  for (auto& item : j) {
    if (!item.is_string())
      return fail(Code::InvalidArgument, "{} '{}': element {} is not a string", option, text,
                  item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

Status run(const ConfigOptions& o, const Globals& globals) {
  oci::ConfigEdit edit{.workdir = o.workdir, .user = o.user, .expose = o.expose};
  for (auto& e : o.env) edit.env.push_back(DE_TRY(split_key_value(e, "--env")));
  for (auto& l : o.labels) edit.labels.push_back(DE_TRY(split_key_value(l, "--label")));
  if (o.entrypoint) edit.entrypoint = DE_TRY(parse_string_array(*o.entrypoint, "--entrypoint"));
  if (o.cmd) edit.cmd = DE_TRY(parse_string_array(*o.cmd, "--cmd"));
  edit.history.created = created_time(globals);
  edit.created_by_prefix = std::string(kProgram) + " image config";
  DE_TRY(check_destination(o.destination));

  auto images = DE_TRY(read_sources(o.source, o.platform, PlatformUse::Edit));
  DE_TRY_CTX(
      images.edit([&](oci::Image image) { return oci::edit_config(std::move(image), edit); }),
      fmt::format("editing the config of {}", o.source));
  return write_destinations(std::move(images), o.destination, oci::WriteOptions{}, globals,
                            /*stamp_created=*/true);
}

}  // namespace

void add_image_config(CLI::App& parent, CommandTable& commands) {
  auto options = std::make_shared<ConfigOptions>();
  auto* sub = parent.add_subcommand(
      "config",
      "Edit the container config (env, entrypoint, cmd, workdir, user, labels, exposed "
      "ports) and write the result to DEST");
  sub->fallthrough();
  sub->add_option("SRC", options->source, "Image to edit")->required();
  sub->add_option("DEST", options->destination, "Where to write the result")->required();
  sub->add_option("--env", options->env, "Set an environment variable; repeatable")
      ->type_name("K=V");
  sub->add_option("--entrypoint", options->entrypoint,
                  "Entrypoint as a JSON array, e.g. '[\"/bin/sh\",\"-c\"]' ('[]' clears it)")
      ->type_name("JSON_ARRAY");
  sub->add_option("--cmd", options->cmd, "Command as a JSON array ('[]' clears it)")
      ->type_name("JSON_ARRAY");
  sub->add_option("--workdir", options->workdir, "Working directory (absolute)")->type_name("PATH");
  sub->add_option("--user", options->user, "User (name, UID or UID:GID)")->type_name("USER");
  sub->add_option("--label", options->labels, "Set a label; repeatable")->type_name("K=V");
  sub->add_option("--expose", options->expose, "Expose a port: 80, 80/tcp, 53/udp; repeatable")
      ->type_name("PORT");
  add_platform_option(sub, options->platform, PlatformUse::Edit);
  on_run(sub, commands, options, run);
}

}  // namespace de::cli
