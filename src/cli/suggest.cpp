#include "cli/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "docker_envs/base/text.hpp"

namespace de::cli {

namespace {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

const CLI::App* subcommand_named(const CLI::App& app, std::string_view name) {
  // Hidden ones too: they run when named exactly, they are only never suggested.
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// True when `arg` ("--progress", "-o") is an option of `app` or a command above it that takes a
// value, given as the next word (not "--progress=plain"): that word is no command word.
bool takes_next_word(const CLI::App& app, std::string_view arg) {
  if (arg.find('=') != std::string_view::npos) return false;
  for (const CLI::App* at = &app; at; at = at->get_parent())
    if (const CLI::Option* option = at->get_option_no_throw(std::string(arg)))
      return option->get_items_expected_max() > 0;  // flags expect no item
  return false;
}

}  // namespace

std::optional<std::string> suggest(std::string_view word,
                                   std::span<const std::string_view> candidates,
                                   std::size_t max_distance) {
  if (word.size() >= 2) {
    std::optional<std::string> only;
    int prefixed = 0;
    for (auto c : candidates)
      if (c.starts_with(word) && c != word) {
        ++prefixed;
        only = std::string(c);
      }
    if (prefixed == 1) return only;
  }
  return closest_word(word, candidates, max_distance);
}

std::optional<std::string> command_word_error(const CLI::App& app, int argc,
                                              const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "--version") return std::nullopt;
  }
  const CLI::App* current = &app;
  std::string path;
  auto names = [&] {
    std::vector<std::string> out;
    for (const CLI::App* sub : visible_subcommands(*current)) out.push_back(sub->get_name());
    return out;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with('-')) {
      if (takes_next_word(*current, arg)) ++i;  // "--progress plain": its value
      continue;
    }
    if (visible_subcommands(*current).empty() && !subcommand_named(*current, arg))
      return std::nullopt;  // a command's own argument
    if (const CLI::App* next = subcommand_named(*current, arg)) {
      path += (path.empty() ? "" : " ") + next->get_name();
      current = next;
      continue;
    }
    std::vector<std::string> known = names();
    std::vector<std::string_view> views(known.begin(), known.end());
    std::string prefix = path.empty() ? "" : path + " ";
    std::string message = fmt::format("unknown command '{}{}'", prefix, arg);
    if (auto near = suggest(arg, views, 3))
      message += fmt::format(" (did you mean '{}{}'?)", prefix, *near);
    else
      message += fmt::format("; commands: {}", fmt::join(known, ", "));
    return message;
  }
  if (current->get_require_subcommand_min() > 0 && !visible_subcommands(*current).empty())
    return path.empty() ? fmt::format("a command is required: {}", fmt::join(names(), ", "))
                        : fmt::format("'{}' needs a command: {}", path, fmt::join(names(), ", "));
  return std::nullopt;
}

std::string option_hint(const CLI::App& app, const CLI::ParseError& error) {
  if (!dynamic_cast<const CLI::ExtrasError*>(&error)) return {};
  // The chosen command and those above it: with fallthrough their options are accepted too.
  std::vector<std::string> names;
  for (const CLI::App* at = &app; at;) {
    for (const CLI::Option* option : at->get_options())
      for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    auto chosen = at->get_subcommands();
    at = chosen.empty() ? nullptr : chosen.front();
  }
  std::vector<std::string_view> views(names.begin(), names.end());
  for (const auto& extra : app.remaining(true)) {
    if (!extra.starts_with("--")) continue;
    std::string_view flag = std::string_view(extra).substr(0, extra.find('='));
    if (auto near = suggest(flag, views, 2)) return fmt::format(" (did you mean '{}'?)", *near);
  }
  return {};
}

CLI::Validator one_of(std::vector<std::string> choices) {
  std::string description = fmt::format("{{{}}}", fmt::join(choices, ","));
  return CLI::Validator(
      [choices](std::string& value) -> std::string {
        if (std::find(choices.begin(), choices.end(), value) != choices.end()) return {};
        std::vector<std::string_view> views(choices.begin(), choices.end());
        std::string message =
            fmt::format("'{}' is not one of {}", value, fmt::join(choices, ", "));
        if (auto near = suggest(value, views, 2))
          message += fmt::format(" (did you mean '{}'?)", *near);
        return message;
      },
      description);
}

}  // namespace de::cli
