// Conda package versions and their total order ("VersionOrder").
//
// The rules (from conda's documented VersionOrder semantics):
//  * text is trimmed and compared case-insensitively;
//  * an optional epoch `N!` comes first (default 0) and dominates everything else;
//  * an optional local version follows `+` and is compared only when the main versions are equal;
//  * the main and local parts are split into segments at `.` and `_` (`-` counts as `_` as long as
//    the text does not use both); a trailing `_` is kept as a string so `1.0.1_` sorts before
//    `1.0.1a` (the openssl convention);
//  * each segment is split into runs of digits, runs of `*` and runs of other characters; a segment
//    that starts with a non-digit gets an implicit leading 0 so numbers and strings stay in phase;
//  * atoms compare: strings < numbers; strings compare bytewise; `dev` sorts before every other
//    string except `*`, `post` sorts after every number;
//  * missing segments and atoms are padded with 0, so `1.0 == 1.0.0` and `1.0a < 1.0`.
//
// Equality is semantic (`1.0 == 1.0.0`) while to_string() returns the text as written, so two
// equal versions may print differently. Version is an immutable value; thread-compatible.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::conda {

class Version {
 public:
  // One run within a segment: a number, a string or `post`.
  struct Atom {
    enum class Kind : std::uint8_t { String, Number, Post };
    Kind kind = Kind::Number;
    std::uint64_t number = 0;  // Kind::Number
    std::string text;          // Kind::String, lower-case; `dev` is stored as "DEV" (sorts first)

    bool is_string() const { return kind == Kind::String; }
  };
  using Segment = std::span<const Atom>;

  Version() = default;  // "0"

  // Parses conda version text. Errors (InvalidArgument) name the bad character or segment and its
  // 0-based position in the trimmed text.
  static Result<Version> parse(std::string_view text);

  // The text as given (trimmed of surrounding whitespace); parse(to_string()) == *this.
  const std::string& to_string() const { return text_; }

  std::uint64_t epoch() const;
  bool has_local() const { return local_count_ > 0; }
  // Segments of the main version (after the epoch) and of the local version.
  std::size_t segment_count() const { return version_count_ - 1; }
  Segment segment(std::size_t i) const { return seg(i + 1); }
  std::size_t local_segment_count() const { return local_count_; }
  Segment local_segment(std::size_t i) const { return seg(version_count_ + i); }

  // conda's parsed form of the main version, epoch first, as Python prints it:
  // "1.1dev1" -> "[[0], [1], [1, 'DEV', 1]]", "1.0post" -> "[[0], [1], [0, inf]]".
  std::string conda_repr() const;

  // True when this version begins with `prefix`, segment by segment, where the last atom of the
  // prefix may be a string prefix of ours ("1.2.3" and "1.2.3rc1" start with "1.2" and "1.2.3r").
  // Missing numeric atoms count as 0, so "1" starts with "1.0". A prefix with a local part
  // requires equal main versions. This is the `1.2.*` / `=1.2` operator.
  bool starts_with(const Version& prefix) const;

  // True when this (newer) version is >= `older`, has the same epoch, and agrees with `older` on
  // the first `level` main segments (padding with 0). `~=1.4.5` is compatible_with(1.4.5, 2).
  bool compatible_with(const Version& older, std::size_t level) const;

  // Consistent with ==: equal versions ("1.0", "1.0.0", "1.0.0+0") hash alike. Trailing zero
  // atoms and empty trailing segments are skipped, which is exactly what padding ignores.
  std::size_t hash() const;

  friend std::weak_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }

 private:
  Segment seg(std::size_t i) const {
    std::uint32_t begin = i == 0 ? 0 : seg_ends_[i - 1];
    return Segment(atoms_.data() + begin, seg_ends_[i] - begin);
  }

  std::string text_ = "0";
  std::vector<Atom> atoms_ = std::vector<Atom>(2);  // epoch 0, segment 0
  std::vector<std::uint32_t> seg_ends_{1, 2};       // epoch, main segments..., local segments...
  std::uint32_t version_count_ = 2;                 // epoch + main segments
  std::uint32_t local_count_ = 0;
};

}  // namespace de::conda

template <>
struct std::hash<de::conda::Version> {
  std::size_t operator()(const de::conda::Version& v) const noexcept { return v.hash(); }
};
