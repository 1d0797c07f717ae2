// One model for every lock file docker-envs reads: environments -> platforms -> ordered package
// records with hashes, plus the PyPI entries a lock names (kept as data; installing them is a later
// step). Three readers feed it, chosen by content:
//
//   - `@EXPLICIT` (conda list --explicit): one environment "default", one platform (its
//     "# platform:" line, "" when absent);
//   - conda-lock v1 (`conda-lock.yml`): one environment "default", every platform of the file,
//     each record with its categories; `manager: pip` entries are PyPI entries;
//     `metadata.content_hash` per platform;
//   - pixi lock files (`pixi.lock`) versions 4, 5, 6 and 7: every environment with its channels,
//     PyPI indexes / find-links and per-platform package lists. In versions 6 and later a conda
//     entry's name, version and build come from its URL's file name when not written. Path-based
//     packages are relative to the lock file's directory and may not leave it.
//
// A format version newer than the ones above is refused (Unsupported), naming it: it is never
// guessed at. Errors name the file and line ("pixi.lock:12: ...").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

enum class LockFormat { Explicit, CondaLock, Pixi };
std::string_view to_string(LockFormat format);  // "@EXPLICIT", "conda-lock", "pixi"

// The newest pixi lock format version read.
inline constexpr int kPixiLockMaxVersion = 7;

// One conda package of a lock.
struct LockedPackage {
  // url (file:// for a path-based package), fn, name, version, build, build_number, subdir,
  // channel (redacted), md5 / sha256, depends / constrains, size, timestamp, license, noarch.
  PackageRecord record;
  // conda-lock categories ("main", "dev", ...); pixi and @EXPLICIT packages are "main".
  std::vector<std::string> categories = {"main"};
  // A package to be built from source (pixi `conda_source:`, or a v6 location that is not a
  // package archive): the location as written. Consumers refuse such packages.
  std::string source;
  int line = 0;  // where the package is described in the file (0: unknown)
};

// One PyPI distribution named by a lock. Consumers that do not install them refuse them, naming
// each with its line (select_environment without LockSelection::pypi).
struct PypiLockEntry {
  std::string name;
  std::string version;   // may be empty (a pixi path entry without one)
  std::string location;  // URL or path, as written
  // `location` as a URL: a path becomes a file:// URL below the lock file's directory; "" when the
  // path leaves that directory (select_environment then refuses the entry).
  std::string url;
  std::optional<Digest> sha256;
  std::optional<Md5Hash> md5;
  std::vector<std::string> requires_dist;
  std::string requires_python;
  std::vector<std::string> extras;                 // asked for by the environment (pixi)
  std::vector<std::string> categories = {"main"};  // conda-lock
  // Asked for by URL (`name @ URL`), not found on an index: conda-lock's `source: {type: url,
  // url: ...}`. Installed with direct_url.json (PEP 610), as from the environment file.
  bool direct = false;
  int line = 0;  // the package's description in the file
};

struct LockPlatform {
  std::string name;    // the key in the file ("linux-64"; pixi 7 may name platforms freely)
  std::string subdir;  // the conda subdir ("linux-64"), = name unless the file says otherwise
  std::vector<LockedPackage> packages;  // in file order
  std::vector<PypiLockEntry> pypi;      // in file order
  std::string content_hash;             // conda-lock metadata.content_hash (else "")
};

struct LockEnvironment {
  std::string name;                     // "default" for @EXPLICIT and conda-lock
  std::vector<std::string> channels;    // channel URLs or names, as written
  std::vector<std::string> indexes;     // PyPI indexes (pixi)
  std::vector<std::string> find_links;  // PyPI find-links, URL or path (pixi)
  std::vector<LockPlatform> platforms;  // in file order

  const LockPlatform* platform(std::string_view name) const;
};

struct LockFile {
  LockFormat format = LockFormat::Explicit;
  int version = 0;                            // the format version (0 for @EXPLICIT)
  std::string what;                           // the file name used in messages
  std::vector<LockEnvironment> environments;  // in file order

  const LockEnvironment* environment(std::string_view name) const;
};

// Reads a lock of any of the formats above, recognised by content. `what` names the document in
// errors; `base_dir` is the directory path-based packages are relative to (the lock file's).
Result<LockFile> read_lock(std::string_view text, std::string_view what,
                           const std::filesystem::path& base_dir = {});
Result<LockFile> load_lock(const std::filesystem::path& path);

// True when `text` is a YAML lock (conda-lock or pixi) rather than @EXPLICIT or an
// environment.yml: a top-level `version:` with `package:`, `packages:`, `environments:` or
// `metadata:`.
bool looks_like_yaml_lock(std::string_view text);

struct LockSelection {
  std::string environment = "default";
  // The platform (name or conda subdir); empty: the environment's only platform, or linux-64 when
  // it has several including it (InvalidArgument listing them otherwise).
  std::string platform;
  // conda-lock categories to install; a package is taken when one of its categories is listed.
  std::vector<std::string> categories = {"main"};
  // PyPI entries of the selection are returned in LockedEnvironment::pypi (the caller installs
  // them) instead of being refused.
  bool pypi = false;
};

// The packages of one environment and platform, ready to install.
struct LockedEnvironment {
  using Format = LockFormat;
  Format format = Format::Explicit;
  std::string environment;
  std::string platform;  // the selected one; "" for an explicit file without "# platform:"
  std::string subdir;
  std::vector<PackageRecord> packages;  // install order (dependencies first; @EXPLICIT as written)
  // With LockSelection::pypi: the selected PyPI entries, in file order, each once (conda-lock
  // lists an entry once per category); each has a `url`.
  std::vector<PypiLockEntry> pypi;
  std::string content_hash;             // conda-lock's for this platform, else ""
};

// InvalidArgument for an unknown environment or platform (listing the ones there are);
// Unsupported, naming each with its file:line, for source packages in the selection, and for PyPI
// entries unless selection.pypi (then InvalidArgument for one whose path leaves the lock's
// directory, or one listed twice with different URLs); InvalidArgument for a package listed twice with different URLs. An @EXPLICIT
// file's platform is checked against `platform` when both are known.
Result<LockedEnvironment> select_environment(const LockFile& lock, const LockSelection& selection);

// read_lock + select_environment.
Result<LockedEnvironment> parse_lockfile(std::string_view text, std::string_view what,
                                         const LockSelection& selection,
                                         const std::filesystem::path& base_dir = {});
// `platform` ("" for no preference), the "default" environment and the "main" category.
Result<LockedEnvironment> parse_lockfile(std::string_view text, std::string_view what,
                                         std::string_view platform = {});

}  // namespace de::conda
