// Small text helpers: how far apart two words are, and the nearest of a list (for "did you mean
// ...?" suggestions); percent-encoding for URLs.
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

// `text` with every byte that is neither an RFC 3986 unreserved character (letters, digits,
// "-._~") nor one of `keep` written as %XX (upper-case hex): percent_encode(s) for a query value,
// percent_encode(path, "/") for the path of a file:// URL.
std::string percent_encode(std::string_view text, std::string_view keep = {});

// Whether `text` starts with a URL scheme and "://" ("https://", "git+ssh://", "s3://"): a
// non-empty scheme of letters, digits, "+", "-" and ".".
bool has_url_scheme(std::string_view text);

}  // namespace de
