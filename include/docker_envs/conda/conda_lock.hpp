// conda-lock v1 lock files (the `conda-lock.yml` / `*-lock.yaml` written by conda-lock and read by
// conda-lock install and micromamba): reading the conda packages of one platform, and writing one.
//
// A v1 file has `version: 1`, `metadata` (channels, platforms, content_hash, sources) and a flat
// `package` list; each entry has name, version, manager (conda | pip), platform, dependencies
// (name -> spec), url, hash (md5, sha256), category and optional. Later formats (versions 2-7,
// written by rattler/pixi) are refused as Unsupported here; read_lock (lock_file.hpp) reads them.
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

struct CondaLockReadOptions {
  // The platform to select; empty: the lock's only platform (InvalidArgument, listing them, when
  // it has several).
  std::string platform;
  // Categories to install (conda-lock's `category`); "main" unless asked otherwise. Optional
  // packages (`optional: true`) are taken only when their category is listed.
  std::vector<std::string> categories = {"main"};
};

struct CondaLock {
  std::string platform;                             // the one selected
  std::vector<std::string> platforms;               // metadata.platforms
  std::vector<std::string> channels;                // metadata.channels[].url, as written
  std::map<std::string, std::string> content_hash;  // platform -> hash
  // The selected conda packages in an installable order (dependencies first). Each has name,
  // version, build (from the file name), build_number, depends/constrains ("name spec"), url,
  // fn, subdir, channel (redacted), md5 / sha256.
  std::vector<PackageRecord> packages;
};

// `what` names the document in errors ("env-lock.yml:12: ..."). InvalidArgument for a malformed
// file (naming the line and the field); Unsupported for another format version or for pip
// packages in the selection (all of them named).
Result<CondaLock> parse_conda_lock(std::string_view yaml, std::string_view what,
                                   const CondaLockReadOptions& options = {});
Result<CondaLock> load_conda_lock(const std::filesystem::path& path,
                                  const CondaLockReadOptions& options = {});

// True when `text` looks like a conda-lock document (a YAML mapping with `package:` and
// `version:` keys at the top level) rather than an @EXPLICIT list.
bool looks_like_conda_lock(std::string_view text);

// Locks of any format, recognised by content (parse_lockfile, read_lock): lock_file.hpp.

struct CondaLockWriteOptions {
  std::string platform;               // e.g. "linux-64"
  std::vector<std::string> channels;  // as the user named them (redacted by the writer)
  std::string content_hash;           // a hash of the inputs the lock was made from
  std::vector<std::string> sources;   // e.g. {"environment.yml"}; may be empty
  // PyPI wheels, written after the conda packages as `manager: pip` entries (name, version,
  // requires_dist as "name specifiers" dependencies, url, sha256; category main). Credentials are
  // stripped from their URLs (an index URL's user:password never reaches the file).
  std::vector<PypiLockEntry> pypi;
};

// A conda-lock v1 document for `packages` (all category main, manager conda, in the given order)
// and options.pypi. Every record needs a url and an md5 or sha256, every PyPI entry a url and a
// sha256 (InvalidArgument naming the package otherwise).
// Package URLs are written as they are (a token in one is needed to download it, so treat such a
// lock as a secret); metadata.channels are redacted. Strings are double-quoted, so versions such
// as 1.10 stay text.
Result<std::string> write_conda_lock(std::span<const PackageRecord> packages,
                                     const CondaLockWriteOptions& options);

}  // namespace de::conda
