// The bash completion script (and the helpers the zsh and fish generators share).
#include <fmt/format.h>

#include <cctype>
#include <utility>

#include "cli/completion.hpp"

namespace de::cli {

namespace gen {

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string fish_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string one_line(std::string_view help) {
  std::string out(help.substr(0, help.find('\n')));
  for (char& c : out)
    if (c == '\t' || c == '\r') c = ' ';
  return out;
}

std::string kind_word(ValueKind kind, const std::vector<std::string>& choices) {
  switch (kind) {
    case ValueKind::File:
      return "file";
    case ValueKind::Directory:
      return "dir";
    case ValueKind::Image:
      return "image";
    case ValueKind::Choice:
      return fmt::format("choice:{}", fmt::join(choices, " "));
    case ValueKind::None:
      break;
  }
  return "none";
}

std::string identifier(std::string_view program) {
  std::string out(program);
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

std::string fill_template(std::string_view text, std::string_view program) {
  std::string transports;
  for (auto t : kImageTransports) transports += (transports.empty() ? "" : " ") + std::string(t);
  const std::pair<std::string_view, std::string> fills[] = {
      {"@ID@", identifier(program)},
      {"@PROGRAM@", std::string(program)},
      {"@TRANSPORTS@", transports}};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool filled = false;
    for (const auto& [from, to] : fills)
      if (text.substr(i).starts_with(from)) {
        out += to;
        i += from.size();
        filled = true;
        break;
      }
    if (!filled) out += text[i++];
  }
  return out;
}

std::string value_function(const CommandSpec& root, const CaseStyle& style) {
  std::string id = identifier(root.name);
  std::string out = fmt::format(
      "# __{0}_value PATH WHAT: what option WHAT, or positional argument number WHAT (from 0),\n"
      "# of the command at PATH takes: file, dir, image, choice:WORDS or none.\n"
      "__{0}_value() {{\n"
      "  case \"$1|$2\" in\n",
      id);
  auto add = [&](const std::vector<std::string>& keys, std::string_view suffix,
                 const std::string& kind) {
    std::vector<std::string> patterns;
    for (const auto& k : keys) patterns.push_back(shell_quote(k) + std::string(suffix));
    out += fmt::format("    {}{}) {} {} ;;\n", style.open, fmt::join(patterns, style.separator),
                       style.print, shell_quote(kind));
  };
  for (const auto& [path, command] : flatten(root)) {
    for (const auto& o : command->options) {
      if (!o.takes_value() || o.kind == ValueKind::None) continue;
      std::vector<std::string> keys;
      for (const auto& n : o.names) keys.push_back(path + "|" + n);
      add(keys, "", kind_word(o.kind, o.choices));
    }
    for (std::size_t i = 0; i < command->positionals.size(); ++i) {
      const auto& p = command->positionals[i];
      add({fmt::format("{}|{}", path, i)}, "", kind_word(p.kind, p.choices));
      // A repeatable one takes every later argument too (matched by the index's digits).
      if (p.repeatable) add({path + "|"}, style.rest, kind_word(p.kind, p.choices));
    }
  }
  return out + fmt::format("    {}*) {} none ;;\n  esac\n}}\n\n", style.open, style.print);
}

}  // namespace gen

namespace {

using gen::shell_quote;

// __P_command PATH: sets subs, opts and vopts (the options taking a value) for a command path.
std::string command_table(const CommandSpec& root, const std::string& id) {
  std::string out = fmt::format(
      "# __{0}_command PATH: the subcommands (subs), options (opts) and options that take a value\n"
      "# (vopts) of the command at PATH ('' for {1} itself, 'image ls' for a nested one).\n"
      "__{0}_command() {{\n"
      "  case $1 in\n",
      id, root.name);
  for (const auto& [path, command] : flatten(root)) {
    std::vector<std::string> subs, opts, vopts;
    for (const auto& s : command->subcommands) subs.push_back(s.name);
    for (const auto& o : command->options)
      for (const auto& n : o.names) {
        opts.push_back(n);
        if (o.takes_value()) vopts.push_back(n);
      }
    out += fmt::format("    {})\n      subs={}\n      opts={}\n      vopts={}\n      ;;\n",
                       shell_quote(path), shell_quote(fmt::format("{}", fmt::join(subs, " "))),
                       shell_quote(fmt::format("{}", fmt::join(opts, " "))),
                       shell_quote(fmt::format("{}", fmt::join(vopts, " "))));
  }
  out += "    *) subs='' opts='' vopts='' ;;\n  esac\n}\n\n";
  return out;
}

constexpr std::string_view kFunctions = R"script(# __@ID@_complete_value KIND WORD: COMPREPLY for a value of that kind.
__@ID@_complete_value() {
  local kind=$1 cur=$2 transport
  case $kind in
    choice:*) COMPREPLY=($(compgen -W "${kind#choice:}" -- "$cur")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    image)
      case $cur in
        docker://*) COMPREPLY=() ;;
        docker-archive:* | oci:* | oci-archive:*)
          transport=${cur%%:*}:
          COMPREPLY=($(compgen -f -- "${cur#*:}"))
          COMPREPLY=("${COMPREPLY[@]/#/$transport}")
          ;;
        *) COMPREPLY=($(compgen -W "@TRANSPORTS@ scratch" -- "$cur") $(compgen -f -- "$cur")) ;;
      esac
      compopt -o nospace 2>/dev/null
      ;;
    *) COMPREPLY=() ;;
  esac
  # bash splits words at ':' (COMP_WORDBREAKS): it replaces only what follows the last ':'.
  if [[ $cur == *:* && ${COMP_WORDBREAKS-} == *:* ]]; then
    local colon=${cur%"${cur##*:}"} i
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$colon"}; done
  fi
}

_@ID@() {
  local -a words
  local cmdpath='' subs opts vopts w kind cur line
  local -i i n skip=0 npos=0
  COMPREPLY=()
  # The words up to the cursor, split at blanks only (COMP_WORDS is also split at ':').
  if [[ -n ${COMP_LINE-} && -n ${COMP_POINT-} ]]; then
    line=${COMP_LINE:0:COMP_POINT}
    read -ra words <<<"$line"
    [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=('')
  else
    words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
  fi
  n=$((${#words[@]} - 1))
  cur=${words[n]}
  __@ID@_command ''
  for ((i = 1; i < n; i++)); do
    w=${words[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      --*=*) continue ;;
      -*) [[ " $vopts " == *" $w "* ]] && skip=1; continue ;;
    esac
    if ((npos == 0)) && [[ -n $subs && " $subs " == *" $w "* ]]; then
      cmdpath=${cmdpath:+$cmdpath }$w
      __@ID@_command "$cmdpath"
    else
      npos+=1
    fi
  done
  if ((skip)); then
    __@ID@_complete_value "$(__@ID@_value "$cmdpath" "${words[n-1]}")" "$cur"
    return 0
  fi
  case $cur in
    --*=*)
      __@ID@_complete_value "$(__@ID@_value "$cmdpath" "${cur%%=*}")" "${cur#*=}"
      # bash breaks words at '=' too: then it replaces only the value.
      [[ ${COMP_WORDBREAKS-} == *=* ]] || COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
      return 0
      ;;
    -*)
      COMPREPLY=($(compgen -W "$opts" -- "$cur"))
      return 0
      ;;
  esac
  if [[ -n $subs ]] && ((npos == 0)); then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return 0
  fi
  __@ID@_complete_value "$(__@ID@_value "$cmdpath" "$npos")" "$cur"
  return 0
}

complete -F _@ID@ @PROGRAM@
)script";

}  // namespace

std::string bash_completion(const CommandSpec& root) {
  std::string id = gen::identifier(root.name);
  std::string out = fmt::format(
      "# bash completion for {0}, generated by `{0} completion bash` from its command table.\n"
      "# Load it with: source <({0} completion bash), or install it as\n"
      "# /usr/share/bash-completion/completions/{0}.\n\n",
      root.name);
  out += command_table(root, id);
  out += gen::value_function(root, {.open = "", .separator = " | ", .rest = "[0-9]*",
                                     .print = "echo"});
  return out + gen::fill_template(kFunctions, root.name);
}

}  // namespace de::cli
