// repodata.json of one channel subdir, parsed into compact PackageRecords.
//
// Accepts repodata v1 and v2 (`info.base_url`, CEP 15), the `packages` (.tar.bz2) and
// `packages.conda` maps, `removed`, null for any optional field, and the legacy flat form (a map of
// file name -> record with no `packages` key). A record that is malformed (a missing name, version
// or build; a field of the wrong type; a bad hash) is skipped and counted, never fatal; only JSON
// that is not JSON at all fails the parse. When a package exists as both `X.conda` and
// `X.tar.bz2` only the `.conda` record is kept (it is smaller and faster to extract).
//
// Parsing uses simdjson's on-demand API (hundreds of MB per second); records do not store their
// URL (it is base_url + "/" + fn, see url_for()) to stay compact. Thread-compatible value.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

struct RepodataOptions {
  // Written into every record's `channel` (display form, never a token).
  std::string channel;
  // URL of the subdir the document came from ("https://conda.anaconda.org/conda-forge/linux-64").
  // Used as the base URL when `info.base_url` is absent, and to resolve a relative base_url.
  std::string subdir_url;
  // Keep `.tar.bz2` records even when the same package exists as `.conda`.
  bool keep_tar_bz2_duplicates = false;
};

struct Repodata {
  int repodata_version = 1;
  std::string subdir;    // info.subdir ("" when absent)
  std::string base_url;  // where packages are downloaded from, without a trailing '/'
  std::vector<PackageRecord> records;
  std::vector<std::string> removed;       // file names listed under `removed`
  std::size_t skipped = 0;                // malformed records dropped
  std::vector<std::string> skip_reasons;  // the first few, "packages/foo-1-0.tar.bz2: no version"
  std::size_t superseded_tar_bz2 = 0;     // .tar.bz2 records dropped for their .conda twin

  // Parses a document held in memory (copied once into a padded buffer). `what` names it in errors.
  static Result<Repodata> parse(std::string_view json, const RepodataOptions& options,
                                std::string_view what = "repodata.json");
  // Loads and parses a file.
  static Result<Repodata> load(const std::filesystem::path& path, const RepodataOptions& options);

  // The download URL of a record: its own `url` when set, else base_url + "/" + fn.
  std::string url_for(const PackageRecord& record) const;
};

// Resolves `reference` (absolute URL, or relative like "../linux-64") against the directory URL
// `base` ("https://host/ch/noarch"). Trailing '/' removed from the result.
std::string resolve_url(std::string_view base, std::string_view reference);

}  // namespace de::conda
