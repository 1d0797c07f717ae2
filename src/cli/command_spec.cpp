#include "cli/command_spec.hpp"

#include <algorithm>

namespace de::cli {

namespace {

// "TEXT:{auto,per-package,single}" (CLI::IsMember's description) -> the choices.
std::vector<std::string> choices_of(const std::string& type_name) {
  auto open = type_name.find(":{");
  auto close = type_name.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::vector<std::string> out;
  std::string item;
  for (char c : type_name.substr(open + 2, close - open - 2)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

// The value's name as help shows it: the type name before any validator's description.
std::string value_name(const CLI::Option& option) {
  std::string name = option.get_type_name();
  if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  return name.empty() ? "VALUE" : name;
}

bool any_of(std::string_view word, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// What a value is, from how the command names it: an explicit type name (FILE, DIR, IMAGE...),
// else the positional's or the option's name. One table for every command, so that a new command
// following the same names completes the same way.
ValueKind kind_of(const CLI::Option& option, const std::vector<std::string>& choices) {
  if (!choices.empty()) return ValueKind::Choice;
  std::string type = value_name(option);
  if (type == "FILE") return ValueKind::File;  // (PATH names a path in the image)
  if (any_of(type, {"DIR", "DIRECTORY"})) return ValueKind::Directory;
  if (any_of(type, {"IMAGE", "SRC", "DEST", "REF"})) return ValueKind::Image;
  if (option.get_positional()) {
    std::string name = option.get_name(true, false);
    if (any_of(name, {"SRC", "DEST", "SRC REF", "REF", "IMAGE"})) return ValueKind::Image;
    return ValueKind::File;
  }
  std::vector<std::string> names = option.get_lnames();
  for (const auto& n : names) {
    if (any_of(n, {"base", "output"})) return ValueKind::Image;
    if (any_of(n, {"dir", "root", "cache", "cache-dir", "repodata-cache", "from-prefix"}))
      return ValueKind::Directory;
    if (any_of(n, {"file", "lock", "ca-file", "authfile"})) return ValueKind::File;
  }
  return ValueKind::None;
}

bool hidden(const std::string& group) { return group.empty(); }

}  // namespace

const CommandSpec* CommandSpec::find(std::string_view sub) const {
  for (const auto& c : subcommands)
    if (c.name == sub) return &c;
  return nullptr;
}

CommandSpec describe(const CLI::App& app) {
  CommandSpec out;
  out.name = app.get_name();
  out.help = app.get_description();
  out.footer = app.get_footer();
  for (const CLI::Option* option : app.get_options()) {
    if (hidden(option->get_group())) continue;
    std::vector<std::string> choices = choices_of(option->get_type_name());
    if (option->get_positional() && !option->nonpositional()) {
      out.positionals.push_back({.name = option->get_name(true, false),
                                 .kind = kind_of(*option, choices),
                                 .choices = choices,
                                 .help = option->get_description(),
                                 .repeatable = option->get_expected_max() > 1,
                                 .required = option->get_required()});
      continue;
    }
    OptionSpec o;
    for (const auto& s : option->get_snames()) o.names.push_back("-" + s);
    for (const auto& l : option->get_lnames()) o.names.push_back("--" + l);
    if (option->get_expected_max() > 0) {  // flags expect no value
      o.value = value_name(*option);
      o.kind = kind_of(*option, choices);
      o.choices = std::move(choices);
    }
    o.help = option->get_description();
    out.options.push_back(std::move(o));
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (!hidden(sub->get_group())) out.subcommands.push_back(describe(*sub));
  return out;
}

std::vector<CommandPath> flatten(const CommandSpec& root) {
  std::vector<CommandPath> out;
  auto walk = [&](auto& self, const CommandSpec& c, const std::string& path) -> void {
    out.push_back({path, &c});
    for (const auto& sub : c.subcommands)
      self(self, sub, path.empty() ? sub.name : path + " " + sub.name);
  };
  walk(walk, root, "");
  return out;
}

}  // namespace de::cli
