// Python package versions (PEP 440): parsing with the PEP's normalisation rules, the canonical
// text, and the total order.
//
// Accepted forms (case-insensitive, surrounding whitespace ignored, an optional leading `v`):
//   [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]
// with the PEP's alternative spellings normalised: `alpha`/`beta`/`c`/`pre`/`preview` for the
// pre-release kinds, `rev`/`r` and the implicit `-N` for post-releases, `-`/`_`/`.` (or nothing)
// as separators before and inside the pre, post and dev parts, an omitted number meaning 0, and
// `-`/`_` inside a local label meaning `.`.
//
// Order (PEP 440 "Summary of permitted suffixes and relative ordering"): epoch, then the release
// compared with zero padding (1.0 == 1.0.0), then `.devN` of the release < its pre-releases
// (a < b < rc, each by number, each with its own dev releases first) < the release < its
// post-releases (each with its own dev releases first); then the local label, where no label <
// any label and labels compare segment by segment (numbers as numbers, above strings; strings
// bytewise; a shorter label that is a prefix of a longer one first).
//
// Version is an immutable, regular value; to_string() is the normalised form and
// parse(to_string()) == *this. `original()` keeps the text as written (for `===`).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::pypi {

class Version {
 public:
  enum class PreKind : std::uint8_t { Alpha, Beta, Rc };
  struct Pre {
    PreKind kind = PreKind::Alpha;
    std::uint64_t number = 0;
    friend auto operator<=>(const Pre&, const Pre&) = default;
  };
  // One dot-separated part of a local label: a number or a lower-case alphanumeric string.
  struct LocalPart {
    bool is_number = false;
    std::uint64_t number = 0;
    std::string text;  // when !is_number
  };

  Version() = default;  // "0"

  // InvalidArgument naming the text and what was expected at which 0-based position.
  static Result<Version> parse(std::string_view text);

  std::string to_string() const;               // normalised: "1!2.0rc1.post3.dev4+ubuntu.1"
  const std::string& original() const { return original_; }  // trimmed text as given

  std::uint64_t epoch() const { return epoch_; }
  const std::vector<std::uint64_t>& release() const { return release_; }
  const std::optional<Pre>& pre() const { return pre_; }
  const std::optional<std::uint64_t>& post() const { return post_; }
  const std::optional<std::uint64_t>& dev() const { return dev_; }
  const std::vector<LocalPart>& local() const { return local_; }

  // A pre-release in the PEP's sense: a pre-release or a development release.
  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }
  bool is_postrelease() const { return post_.has_value(); }
  bool is_devrelease() const { return dev_.has_value(); }
  bool has_local() const { return !local_.empty(); }

  // Without the local label ("1.0+abc" -> "1.0").
  Version public_version() const;
  // Epoch and release only ("1!1.0rc1.post2" -> "1!1.0").
  Version base_version() const;

  // Consistent with ==: release trailing zeros do not change the hash.
  std::size_t hash() const;

  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }

 private:
  std::string original_ = "0";
  std::uint64_t epoch_ = 0;
  std::vector<std::uint64_t> release_{0};
  std::optional<Pre> pre_;
  std::optional<std::uint64_t> post_;
  std::optional<std::uint64_t> dev_;
  std::vector<LocalPart> local_;
};

// PEP 503 name normalisation: lower case, every run of `-`, `_` and `.` becomes one `-`
// ("Foo.Bar__baz" -> "foo-bar-baz"). Distribution names are compared in this form everywhere.
std::string normalize_name(std::string_view name);

// Whether `name` is a valid distribution name (PEP 508): ASCII letters and digits, with `.`, `_`
// and `-` allowed between them, starting and ending with a letter or digit.
bool is_valid_name(std::string_view name);

}  // namespace de::pypi

template <>
struct std::hash<de::pypi::Version> {
  std::size_t operator()(const de::pypi::Version& v) const noexcept { return v.hash(); }
};
