// One conda package as described by repodata.json, an index.json inside a package, a lock file or
// a conda-meta record: the metadata a solver and an installer need, nothing about files.
//
// PackageRecord is a plain value (thread-compatible). Strings are kept as written; the version is
// kept as text so that parsing hundreds of thousands of records stays cheap (the solver parses the
// ones it needs with Version::parse). Hashes are stored as bytes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"

namespace de::conda {

// An MD5 as 16 bytes (repodata gives it as 32 hex characters).
class Md5Hash {
 public:
  using Bytes = std::array<std::uint8_t, 16>;
  Md5Hash() = default;
  explicit Md5Hash(const Bytes& b) : bytes_(b) {}
  // Accepts exactly 32 hex digits (either case).
  static Result<Md5Hash> from_hex(std::string_view hex);
  std::string hex() const;
  const Bytes& bytes() const { return bytes_; }
  friend auto operator<=>(const Md5Hash&, const Md5Hash&) = default;

 private:
  Bytes bytes_{};
};

// `noarch` in index.json / repodata: absent, "generic" or "python". Old packages wrote `true` for
// generic (and `"noarch": false`, meaning none).
enum class NoarchKind : std::uint8_t { None, Generic, Python };
std::string_view to_string(NoarchKind kind);  // "", "generic", "python"
Result<NoarchKind> parse_noarch(std::string_view text);

// Package archive format, from the file name.
enum class PackageFormat : std::uint8_t { Conda, TarBz2 };
// ".conda" or ".tar.bz2" suffix -> format; anything else is InvalidArgument.
Result<PackageFormat> package_format_of(std::string_view filename);
// The file name without ".conda" / ".tar.bz2" ("zlib-1.2.11-h7b6447c_3"); the input when neither.
std::string_view strip_package_extension(std::string_view filename);

struct PackageRecord {
  std::string name;
  std::string version;  // as written; parse with Version::parse
  std::string build;    // build string, "py311h64a7726_0"
  std::int64_t build_number = 0;
  std::vector<std::string> depends;     // match specs as written
  std::vector<std::string> constrains;  // match specs as written
  std::string subdir;                   // "linux-64", "noarch"
  NoarchKind noarch = NoarchKind::None;
  std::string fn;   // "numpy-1.26.4-py311h64a7726_0.conda"
  std::string url;  // full download URL; empty until known (repodata records get it from base_url)
  std::string channel;  // channel the record came from (display form, no token), may be empty
  std::optional<Md5Hash> md5;
  std::optional<Digest> sha256;
  std::optional<std::uint64_t> size;
  // As written in the source: conda-forge writes milliseconds, old repodata seconds.
  std::optional<std::int64_t> timestamp;
  std::string license;
  std::string track_features;  // space- or comma-separated, as written
  // Where site-packages lives for a python record (CEP 17), e.g. "lib/python3.13t/site-packages".
  std::string python_site_packages_path;

  // "name-version-build", the conda-meta file stem and the usual archive stem.
  std::string dist_name() const { return name + "-" + version + "-" + build; }
  // The timestamp in seconds (values past year 9999 in seconds are taken as milliseconds).
  std::optional<std::int64_t> timestamp_seconds() const;

  friend bool operator==(const PackageRecord&, const PackageRecord&) = default;
};

// Parses an index.json document (inside a package, or one record of repodata.json) with nlohmann
// (small documents). `what` names the document in errors. name, version and build are required.
Result<PackageRecord> parse_index_json(std::string_view json, std::string_view what);

}  // namespace de::conda
