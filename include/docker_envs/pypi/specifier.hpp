// Version specifiers (PEP 440 "Version specifiers"): `~=`, `==`, `!=`, `<=`, `>=`, `<`, `>`,
// `===`, the `==V.*` / `!=V.*` prefix matches, and comma-separated sets of them.
//
// Matching rules, as the PEP states them:
//  * local labels of the candidate are ignored, except by `==V` / `!=V` when V has a local label
//    (then the comparison is strict) and by `===`; V may carry a local label only with `==`/`!=`;
//  * `==V.*` compares the candidate's public version with V as a prefix: V's release with the
//    candidate's release zero padded ("1.1.*" matches 1.1, 1.1.0, 1.1.5, 1.1a1, 1.1.post1); when V
//    has a pre/post part the releases must be equal (with padding) and V's pre/post parts must
//    start the candidate's. A dev or local part in V is refused;
//  * `~=V` (V has at least two release numbers) is `>=V, ==P.*` where P is V's release without its
//    last number;
//  * `<V` never matches a pre-release of V's release unless V is itself a pre-release; `>V`
//    never matches a post-release of V's release unless V is itself a post-release;
//  * `===` is a case-insensitive string comparison with the candidate as written (or normalised).
//
// Pre-releases (PEP 440 "Handling of projects"): SpecifierSet::contains() and filter() exclude
// them unless allowed — by the caller, or because a specifier names a pre-release itself
// (">=1.0b1") — and filter() falls back to the matching pre-releases when nothing else matches.
//
// Values are immutable and regular; to_string() is the normalised form ("~=1.4.5", ">=1,<2").
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/version.hpp"

namespace de::pypi {

class Specifier {
 public:
  enum class Op { Compatible, Equal, NotEqual, LessEqual, GreaterEqual, Less, Greater, Arbitrary };

  // One specifier, e.g. ">= 1.0", "==1.2.*", "===foobar". InvalidArgument names the text.
  static Result<Specifier> parse(std::string_view text);

  Op op() const { return op_; }
  bool wildcard() const { return wildcard_; }
  // The version of every operator but `===` (whose text is in arbitrary()).
  const Version& version() const { return version_; }
  const std::string& arbitrary() const { return arbitrary_; }

  // Whether `v` satisfies this specifier, leaving pre-release policy aside.
  bool matches(const Version& v) const;
  // Whether the specifier names a pre-release itself, which lets pre-releases match (`!=` does not
  // count: excluding a pre-release is no request for one).
  bool names_prerelease() const;

  std::string to_string() const;

  friend bool operator==(const Specifier& a, const Specifier& b) {
    return a.to_string() == b.to_string();
  }

 private:
  Op op_ = Op::GreaterEqual;
  bool wildcard_ = false;
  Version version_;
  std::string arbitrary_;
};

class SpecifierSet {
 public:
  SpecifierSet() = default;  // matches every final release

  // "" or comma-separated specifiers (">=1.0, !=1.3.*, <2"). Whitespace is ignored around them.
  static Result<SpecifierSet> parse(std::string_view text);

  const std::vector<Specifier>& specifiers() const { return specs_; }
  bool empty() const { return specs_.empty(); }

  // Every specifier matches (pre-release policy aside).
  bool matches(const Version& v) const;
  // Whether pre-releases may match without being asked for: a specifier names one.
  bool names_prerelease() const;
  // matches(v), and v is no pre-release unless `allow_prereleases` or names_prerelease().
  bool contains(const Version& v, bool allow_prereleases = false) const;

  // The candidates contains() accepts, in their order; when that is none (and pre-releases were
  // not allowed anyway), the matching pre-releases instead (PEP 440: "if the only available
  // version that satisfies the version specifier is a pre-release").
  std::vector<Version> filter(std::span<const Version> candidates,
                              bool allow_prereleases = false) const;

  // Both sets at once (the specifiers of `other` appended).
  SpecifierSet intersect(const SpecifierSet& other) const;

  std::string to_string() const;  // "" for the empty set; "," between specifiers

  friend bool operator==(const SpecifierSet& a, const SpecifierSet& b) {
    return a.to_string() == b.to_string();
  }

 private:
  std::vector<Specifier> specs_;
};

}  // namespace de::pypi
