// The installer: what extracted packages put under a target prefix, as a list of entries. Nothing
// from a package is executed.
//
// plan_environment() is a pure function of its inputs (extracted package directories, records,
// options): it reads package files but writes nothing. The image layer builder turns entries into
// tar entries (per package or all together); write_to_directory() lays them out on disk.
//
// Rules (conda's documented package format, CEP-free parts of the conda docs):
//  * files come from info/paths.json, or the legacy info/files + info/has_prefix;
//  * text placeholders are replaced everywhere in the file; binary placeholders are replaced as C
//    strings of the same length padded with NULs (an error naming the file when the new prefix is
//    longer than the placeholder);
//  * noarch: python: site-packages/ -> <site-packages path of the environment's python>,
//    python-scripts/ -> bin/, and info/link.json entry points become scripts with a
//    `#!<prefix>/bin/python` shebang (mode 0755);
//  * conda-meta/<name>-<version>-<build>.json per package and conda-meta/history;
//  * pre/post-link scripts are not run: each produces a warning;
//  * two packages writing one path: the later in install order wins, with a warning;
//  * paths with `..`, absolute paths, and any path below a symlink of the plan are refused; so is
//    a listed path below a symlink of the package's own payload, listed or not (package files are
//    resolved without following links, so a package cannot reach the host's files).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

enum class PlaceholderMode : std::uint8_t { Text, Binary };

// Replaces `placeholder` with `prefix` in `data`. Binary mode keeps every C string's length,
// padding with NULs; fails (InvalidArgument, naming `what`) when the prefix is longer than the
// placeholder. Exposed for tests and for streaming consumers.
Result<std::string> replace_prefix(std::string_view data, std::string_view placeholder,
                                   std::string_view prefix, PlaceholderMode mode,
                                   std::string_view what);

struct InstallEntry {
  // Directory: an (often empty) directory the package lists itself (paths.json "directory");
  // parents of other entries are not listed.
  enum class Type : std::uint8_t { File, Symlink, Hardlink, Directory };
  // Content of a File entry.
  enum class Source : std::uint8_t {
    HostFile,  // copy `host_path` as is
    Bytes,     // `data` holds the content (generated, or a small rewritten file)
    Rewrite,   // `host_path` with `placeholder` -> prefix applied when opened (large files)
  };

  std::string path;  // relative to the image root, no leading '/': "opt/conda/lib/libz.so.1"
  Type type = Type::File;
  std::uint32_t mode = 0644;  // permission bits
  Source source = Source::HostFile;
  // HostFile / Rewrite content; for a Hardlink, the same file. A plain string, not a
  // std::filesystem::path: an environment holds tens of thousands of entries, and a path keeps a
  // list of its components besides its text (a third of a large plan's memory).
  std::string host_path;
  std::string data;
  std::string placeholder;  // Source::Rewrite
  PlaceholderMode placeholder_mode = PlaceholderMode::Text;
  std::uint64_t size = 0;  // content size of a File
  // Symlink: the target as it will be written. Hardlink: the image path of the file it links to
  // (an earlier entry of the same package).
  std::string link_target;
  std::string package;  // dist name of the package ("" for environment-wide files)
};

// Where an entry's host file lies inside its package's extracted directory ("lib/libz.so.1": the
// installer makes host_path <extracted_dir>/<path in the package>); nullopt when it does not lie
// below `extracted_dir`. A view into entry.host_path.
std::optional<std::string_view> path_in_package(const InstallEntry& entry,
                                                const std::filesystem::path& extracted_dir);

// Opens the content of a File entry (rewriting Source::Rewrite entries as they are read).
Result<std::unique_ptr<Reader>> open_content(const InstallEntry& entry, std::string_view prefix);

struct PythonInfo {
  std::string version;             // "3.11"
  std::string site_packages_path;  // "lib/python3.11/site-packages"
};

// One package's plan in a form that another machine can use without the package (the shared build
// cache): its info/index.json as read, and its planned entries encoded with host files relative to
// the package's directory (the plan cache's encoding: versioned, checksummed, checked on decode).
struct PortablePlan {
  std::string index_json;
  std::string plan;
};
// Names the planner's output format: part of any key under which a PortablePlan is kept.
std::string_view package_plan_format();

struct InstallOptions {
  std::string prefix = "/opt/conda";  // absolute path inside the image
  // For noarch: python packages. Default: taken from the `python` package of the plan.
  std::optional<PythonInfo> python;
  // Files up to this size that need a prefix rewrite are rewritten in memory at plan time;
  // larger ones are Source::Rewrite (rewritten when opened).
  std::uint64_t max_rewrite_in_memory = 1 << 20;
  // Check unmodified files against their paths.json sha256 (reads every file once).
  bool verify_files = false;
  // Time written into conda-meta/history (seconds since the epoch; SOURCE_DATE_EPOCH).
  std::int64_t history_time = 0;
  std::string history_command = "docker-envs env install";
  // A directory where each package's plan is kept under a hash of everything it depends on (the
  // package's sha256, its record, the prefix, ...), so that planning the same package again reads
  // one file instead of the package. Empty: no cache.
  std::filesystem::path plan_cache;
  // Packages are planned on this many threads; 0 = one per core.
  unsigned threads = 0;
  // Plans made elsewhere, by package index (optional): a package this returns one for is not read
  // at all (its directory need not exist yet); its index.json and entries come from the plan, host
  // files below its extracted_dir as usual. A plan that does not decode, or whose entries leave
  // the prefix or the package's directory, is an error.
  std::function<std::optional<PortablePlan>(std::size_t)> preplanned;
  // Fill InstallPlan::portable with every package's plan.
  bool export_plans = false;
  // When set, only the packages it accepts are planned or read from the plan cache: the plan
  // holds their entries and warnings, every package's record and the history. The same entries
  // as a full plan only when summarize_environment() found that merging changes none.
  std::function<bool(std::size_t)> only;
};

struct PackageToInstall {
  std::filesystem::path extracted_dir;  // from PackageCache
  // What is known from repodata / the lock file (url, channel, hashes); index.json fills the
  // rest. May be default-constructed.
  PackageRecord record;
  std::string requested_spec;
};

struct InstallPlan {
  std::vector<InstallEntry> entries;   // in install order; at most one entry per path
  std::vector<std::string> warnings;   // post-link scripts not run, clobbered paths, ...
  std::vector<PackageRecord> records;  // the merged record of each package, in order
  std::vector<PortablePlan> portable;  // with InstallOptions::export_plans: each package's, in order
  // Per package, in order: the bytes of its own planned entries before the merge (0 for one that
  // InstallOptions::only left out). Layers are grouped by these, which a summary knows too.
  std::vector<std::uint64_t> planned_sizes;
  // The package (an index into records) each warning is about, parallel to warnings;
  // records.size() for the environment's own (the history replacing a package's file).
  std::vector<std::size_t> warning_packages;
};

// Plans the installation of `packages` in order (dependencies first) under options.prefix.
Result<InstallPlan> plan_environment(std::span<const PackageToInstall> packages,
                                     const InstallOptions& options);

// One package's plan as a build whose layers are cached needs it, without its entries.
struct PackageSummary {
  std::uint64_t entries = 0;  // its planned entries
  std::uint64_t size = 0;     // their content bytes (InstallPlan::planned_sizes)
  Digest plan;                // names the planned entries: equal digests, equal entries
  bool activation = false;    // it may hold etc/conda/activate.d scripts
  // Merging may change its entries: a path of it is another package's too (or
  // conda-meta/history), an entry of it lies below another's symlink or another's below its, or
  // a hard link of it leaves the package. Only a full merge of these packages says what it holds.
  bool entangled = false;
  std::vector<std::string> warnings;  // its plan's (an entangled one may get more in the merge)
};
struct EnvironmentSummary {
  std::vector<PackageRecord> records;    // as plan_environment() gives them
  std::vector<PackageSummary> packages;  // in order
};
// The environment's plan in summary, read from the plan cache's summaries (and from preplanned
// plans; a package with neither is planned, and its plan cached), with the packages whose entries
// the merge may change marked `entangled`. Then plan_environment() with `only` accepting every
// entangled package (and any others) gives each accepted package's entries and warnings exactly
// as a full plan does, and the others hold what their summaries name. nullopt when a plan has no
// summary, and `why` (when given) says which.
Result<std::optional<EnvironmentSummary>> summarize_environment(
    std::span<const PackageToInstall> packages, const InstallOptions& options,
    std::string* why = nullptr);
// The same of a plan made with export_plans, from its portable plans (`prefix` as it was planned
// with), for a build that planned every package and names its layers for the next.
std::optional<EnvironmentSummary> summarize_exported(const InstallPlan& plan,
                                                     std::string_view prefix,
                                                     std::string* why = nullptr);

// "3.11.4" -> {"3.11", "lib/python3.11/site-packages"}; honours record.python_site_packages_path.
Result<PythonInfo> python_info_from_record(const PackageRecord& python);

// The first line(s) of a script run by `<prefix>/bin/python`: "#!<prefix>/bin/python\n", or, when
// that line would pass the kernel's 127-byte limit, a /bin/sh line that execs the interpreter
// (valid Python as well as shell).
std::string python_shebang(std::string_view prefix);

// The script a Python entry point (`name = module:function`, as conda's info/link.json and a
// wheel's entry_points.txt name it) becomes, as pip and conda write it: python_shebang(prefix),
// then import the first part of `function` from `module`, call `function` and exit with its result.
// `module` and `function` are written as given: the caller validates them.
std::string python_entry_point_script(std::string_view prefix, std::string_view module,
                                      std::string_view function);

// How write_to_directory() lays out files taken unchanged from an extracted package
// (Source::HostFile).
enum class LinkMode : std::uint8_t {
  Copy,      // a copy of the package file (copy_file_range: no copy through user space)
  Hardlink,  // a hardlink to the package file, as conda does by default; a copy where the
             // filesystem refuses (another device, too many links). The installed file then shares
             // its inode with the package cache: editing one edits both.
};

struct WriteOptions {
  LinkMode link = LinkMode::Copy;
  unsigned threads = 0;  // files are written on this many threads; 0 = one per core
};

// Writes the plan below `root` (entries' paths are relative to it), refusing to follow any
// symlink on the way. Existing files are replaced. On failure (a path conflict, a full disk...)
// every file and directory this call created is removed again, `root` itself too when it did not
// exist: what was there before stays, except files the plan was replacing.
Status write_to_directory(const InstallPlan& plan, const std::filesystem::path& root,
                          std::string_view prefix, const WriteOptions& options = {});

}  // namespace de::conda
