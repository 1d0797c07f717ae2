// Usage mistakes named before (or instead of) CLI11's own message, with the nearest valid word:
// "unknown command 'buidl' (did you mean 'build'?)", "unknown command 'image lss' (did you mean
// 'image ls'?)", "--lnog (did you mean '--long'?)". Hidden commands are never suggested.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace de::cli {

// The candidate `word` most likely meant: the only one it is a prefix of (2 characters at
// least), else the nearest within `max_distance` edits (base/text.hpp); nullopt when none is near.
std::optional<std::string> suggest(std::string_view word,
                                   std::span<const std::string_view> candidates,
                                   std::size_t max_distance);

// Checks the command words of argv against the tree under `app` before CLI11 parses: a word that
// names no subcommand ("unknown command 'buidl' (did you mean 'build'?)", else the list of
// commands), or a command that needs a subcommand and got none ("'image' needs a command: inspect,
// ls, ..."). Options (-v, -q) are skipped, and so is the value of one that takes it as the next
// word ("--progress plain"); the walk stops at the first command without subcommands. Nothing is
// reported when argv asks for --help or --version.
std::optional<std::string> command_word_error(const CLI::App& app, int argc,
                                              const char* const* argv);

// For a parse error about an option the chosen command does not have: " (did you mean
// '--long'?)", looking at the options of the command and of every command above it (they are
// accepted after it too); "" when there is no near option or the error is another one.
std::string option_hint(const CLI::App& app, const CLI::ParseError& error);

// A validator accepting one of `choices` (described as "{a,b,c}", as CLI::IsMember is, so the
// completion scripts offer them), whose error suggests the nearest one.
CLI::Validator one_of(std::vector<std::string> choices);

}  // namespace de::cli
