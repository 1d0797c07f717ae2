// Conda match specs: "numpy >=1.20,<2", "conda-forge/linux-64::numpy=1.26=py311*",
// "numpy[version='>=1.20', build=py*, build_number='>=2']".
//
// Grammar (conda's documented MatchSpec syntax):
//   [channel[/subdir]::]name[ version[ build]][\[key=value, ...\]]  [# comment]
// * name: exact, `*` glob or `^...$` regex. The version part follows a space or an operator; a
//   build string follows the version after a space or `=` ("numpy 1.26.4 py311h_0",
//   "numpy=1.26=py311*").
// * `name=1.2` means "version starts with 1.2" (`1.2.*`), `name 1.2` and `name==1.2` mean exactly
//   1.2; but `name=1.2=build` pins version 1.2 exactly (conda's rule).
// * Bracket keys: version, build, build_number (`3`, `>=3`, `!=3`...), channel, subdir, md5,
//   sha256, license, fn, url, track_features. A bracket value overrides the same field given
//   outside the brackets. Values may be quoted with ' or ".
// * A package URL or path ending in .conda / .tar.bz2 is a spec for exactly that file.
// * A trailing `@` is conda's legacy feature spec: "mkl@" is "*[track_features=mkl]".
//
// MatchSpec is an immutable value, thread-safe for const use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/version.hpp"
#include "docker_envs/conda/version_spec.hpp"

namespace de::conda {

// The fields of a package record a match spec looks at. Non-owning: the caller keeps the strings
// and the version alive while matching. Empty strings mean "unknown"; a spec that constrains an
// unknown field does not match.
struct PackageRecordView {
  std::string_view name;
  const Version* version = nullptr;
  std::string_view build;
  std::int64_t build_number = 0;
  std::string_view channel;  // canonical name ("conda-forge") or channel URL
  std::string_view subdir;
  std::string_view md5;
  std::string_view sha256;
  std::string_view license;
  std::string_view fn;  // file name, "numpy-1.26.4-py311h_0.conda"
  std::string_view url;
  std::string_view track_features;  // space- or comma-separated
};

// A string constraint: exact text, a glob where `*` matches any run, or a `^...$` regex.
class StringMatcher {
 public:
  static Result<StringMatcher> parse(std::string_view text);
  bool matches(std::string_view value) const;
  bool is_exact() const { return kind_ == Kind::Exact; }
  const std::string& to_string() const { return text_; }
  friend bool operator==(const StringMatcher& a, const StringMatcher& b) {
    return a.text_ == b.text_;
  }

 private:
  enum class Kind { Exact, Glob, Regex };
  struct CompiledRegex;  // the compiled pattern (conda/spec_regex.hpp), kept out of this header
  Kind kind_ = Kind::Exact;
  std::string text_;
  std::shared_ptr<const CompiledRegex> regex_;
};

// A build-number constraint: "3" (equal), "==3", "!=3", "<3", "<=3", ">3", ">=3".
class BuildNumberSpec {
 public:
  static Result<BuildNumberSpec> parse(std::string_view text);
  bool matches(std::int64_t build_number) const;
  std::string to_string() const;
  friend bool operator==(const BuildNumberSpec&, const BuildNumberSpec&) = default;

 private:
  enum class Op { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual };
  Op op_ = Op::Equal;
  std::int64_t value_ = 0;
};

class MatchSpec {
 public:
  // Errors (InvalidArgument) quote the spec and say which part is wrong.
  static Result<MatchSpec> parse(std::string_view text);

  // conda's canonical form: "conda-forge/linux-64::numpy==1.26.4=py311h_0",
  // "numpy[version='>=1.20,<2',build=py*]", "numpy=1.26" for `1.26.*`; a package URL prints as
  // that URL. parse(to_string()) gives an equal spec, matching the same records.
  std::string to_string() const;

  bool matches(const PackageRecordView& record) const;

  const StringMatcher& name() const { return name_; }
  const VersionSpec& version() const { return version_; }
  const std::optional<StringMatcher>& build() const { return build_; }
  const std::optional<BuildNumberSpec>& build_number() const { return build_number_; }
  // A channel name or URL, or a glob; unset when any channel will do.
  const std::optional<StringMatcher>& channel() const { return channel_; }
  const std::optional<std::string>& subdir() const { return subdir_; }
  const std::optional<std::string>& md5() const { return md5_; }
  const std::optional<std::string>& sha256() const { return sha256_; }
  const std::optional<StringMatcher>& license() const { return license_; }
  const std::optional<StringMatcher>& fn() const { return fn_; }
  const std::optional<std::string>& url() const { return url_; }
  const std::optional<std::string>& track_features() const { return track_features_; }

  friend bool operator==(const MatchSpec& a, const MatchSpec& b) {
    return a.to_string() == b.to_string();
  }

 private:
  StringMatcher name_;
  VersionSpec version_;
  std::optional<StringMatcher> build_;
  std::optional<BuildNumberSpec> build_number_;
  std::optional<StringMatcher> channel_;
  std::optional<std::string> subdir_;
  std::optional<std::string> md5_;
  std::optional<std::string> sha256_;
  std::optional<StringMatcher> license_;
  std::optional<StringMatcher> fn_;
  std::optional<std::string> url_;
  std::optional<std::string> track_features_;
  // Parsed from a package URL or path (".../name-version-build.conda"). to_string() prints the
  // fields ("channel/subdir::name==version=build") when that text parses back to itself, else the
  // URL as it was (a channel with a space, a build with a ',' ...): the one form that always does.
  bool from_url_ = false;
  std::string fields_string() const;
};

}  // namespace de::conda
