// The man page, in man(7) roff, from the command table.
#include <fmt/format.h>

#include <cctype>

#include "cli/completion.hpp"

namespace de::cli {

namespace {

// Text safe in roff: backslashes escaped, '-' as \- (a real minus in options), and a line that
// would start with '.' or '\'' (a request) protected with \&.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string bold(std::string_view text) { return "\\fB" + roff(text) + "\\fR"; }
std::string italic(std::string_view text) { return "\\fI" + roff(text) + "\\fR"; }

std::string usage(const std::string& path, const CommandSpec& command) {
  std::string out = bold(path);
  if (!command.options.empty()) out += " [" + italic("OPTIONS") + "]";
  if (!command.subcommands.empty()) out += " " + italic("COMMAND");
  for (const auto& p : command.positionals) {
    std::string name = italic(p.name) + (p.repeatable ? "..." : "");
    out += " " + (p.required ? name : "[" + name + "]");
  }
  return out;
}

std::string option_lines(const CommandSpec& command) {
  std::string out;
  for (const auto& o : command.options) {
    std::vector<std::string> names;
    for (const auto& n : o.names) names.push_back(bold(n));
    out += fmt::format(".TP\n{}{}\n", fmt::join(names, ", "),
                       o.takes_value() ? " " + italic(o.value) : "");
    std::string help = o.help;
    if (o.kind == ValueKind::Choice && help.find(o.choices.front()) == std::string::npos)
      help += fmt::format(" (one of: {})", fmt::join(o.choices, ", "));
    out += roff(help) + "\n";
  }
  for (const auto& p : command.positionals)
    out += fmt::format(".TP\n{}\n{}\n", italic(p.name), roff(p.help));
  return out;
}

// Footer text (exit statuses, variables) as separate lines.
std::string footer(const CommandSpec& command) {
  if (command.footer.empty()) return {};
  std::string out = ".PP\n";
  for (char c : roff(command.footer)) out += c == '\n' ? std::string("\n.br\n") : std::string(1, c);
  return out + "\n";
}

constexpr std::string_view kTrailer = R"script(.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
An error (one line on standard error; with \fB\-\-json\fR also an error object on standard output).
.TP
.B 2
A usage error: an unknown command or option (the nearest valid one is suggested), a missing or
malformed argument.
.TP
.B 3
A solve cannot be satisfied (\fBsolve\fR, \fBlock\fR, \fBbuild\fR); the explanation is printed.
.SH ENVIRONMENT
.TP
.B SOURCE_DATE_EPOCH
Seconds since 1970: the time written into images and the mtime of added files, for reproducible
output.
.TP
.B XDG_CACHE_HOME
The caches (packages, layers, repodata, registry blobs) are under
\fI$XDG_CACHE_HOME/docker\-envs\fR (default \fI~/.cache/docker\-envs\fR).
.TP
.B DOCKER_CONFIG
The directory of the registry credentials file \fIconfig.json\fR (default \fI~/.docker\fR).
.TP
.BR CONDA_OVERRIDE_GLIBC ", " CONDA_OVERRIDE_CUDA ", " CONDA_OVERRIDE_OSX ", " CONDA_OVERRIDE_LINUX ", " CONDA_OVERRIDE_WIN ", " CONDA_OVERRIDE_ARCHSPEC
The virtual packages of the target platform a solve assumes.
)script";

}  // namespace

std::string man_page(const CommandSpec& root, std::string_view version) {
  std::string title;
  for (char c : root.name) title += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // No date: the page is the same bytes for the same command table.
  // (The title stays as it is: man(7) wants it plain, and a program name has no roff in it.)
  std::string out = fmt::format(".TH {} 1 \"\" \"{} {}\" \"User Commands\"\n", title,
                                roff(root.name), roff(version));
  out += fmt::format(".SH NAME\n{} \\- {}\n", roff(root.name), roff(gen::one_line(root.help)));
  out += ".SH SYNOPSIS\n";
  for (const auto& [path, command] : flatten(root))
    if (command->subcommands.empty())
      out += usage(root.name + " " + path, *command) + "\n.br\n";
  out += ".SH DESCRIPTION\n" + roff(root.help) + "\n";
  out += ".PP\nEach command has \\fB\\-\\-help\\fR. Completion scripts for bash, zsh and fish are "
         "printed by \\fB" +
         roff(root.name) + " completion\\fR \\fISHELL\\fR.\n";
  out += ".SH OPTIONS\n" + option_lines(root);
  out += ".SH COMMANDS\n";
  for (const auto& [path, command] : flatten(root)) {
    if (path.empty()) continue;
    out += fmt::format(".SS \"{}\"\n", roff(root.name + " " + path));
    out += usage(root.name + " " + path, *command) + "\n.PP\n" + roff(command->help) + "\n";
    if (!command->subcommands.empty()) {
      std::vector<std::string> names;
      for (const auto& s : command->subcommands) names.push_back(bold(s.name));
      out += fmt::format(".PP\nCommands: {}.\n", fmt::join(names, ", "));
    }
    if (!command->options.empty() || !command->positionals.empty()) out += option_lines(*command);
    out += footer(*command);
  }
  return out + std::string(kTrailer);
}

}  // namespace de::cli
