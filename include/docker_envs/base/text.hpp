// Small text helpers for messages: how far apart two words are, and the nearest of a list (for
// "did you mean ...?" suggestions).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace de {

// The fewest single-character insertions, deletions, substitutions and swaps of two neighbours
// that turn `a` into `b` (optimal string alignment): "buidl" is one edit from "build".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is within `max_distance` edits (and closer than the
// word is long, so that short words do not match everything); the first of equals wins.
std::optional<std::string> closest_word(std::string_view word,
                                        std::span<const std::string_view> candidates,
                                        std::size_t max_distance = 2);

}  // namespace de
