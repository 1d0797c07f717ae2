// Installing a wheel without running Python: what an extracted wheel (extract_wheel) puts under a
// conda prefix, as installer entries (conda::InstallEntry). The entries become image layer content
// through build::entries_layer (and so oci::generated_layer), or files on disk through
// conda::write_to_directory, exactly like a conda package's.
//
// Rules (the binary distribution format spec, as pip applies it on POSIX):
//  * the wheel's root goes to the target Python's site-packages (purelib and platlib are the same
//    directory in a conda prefix, so Root-Is-Purelib changes nothing);
//  * `<name>-<version>.data/<key>/...`: purelib, platlib -> site-packages; scripts -> bin (mode
//    0755; a first line starting with `#!python` — `#!pythonw` too — becomes
//    python_shebang(prefix), the rest of that line dropped as pip drops it); headers ->
//    include/python<X.Y>/<Name>; data -> the prefix itself. Any other key is refused;
//  * entry_points.txt console_scripts and gui_scripts become bin/<name> scripts run by
//    `<prefix>/bin/python` (conda::python_entry_point_script: the text pip writes);
//  * <dist-info>/INSTALLER ("docker-envs"), REQUESTED when asked, direct_url.json (PEP 610) when
//    given, and RECORD rewritten: every installed file with its path relative to site-packages,
//    sha256 and size, RECORD itself with neither, rows sorted. The wheel's RECORD signatures
//    (RECORD.jws, RECORD.p7s) sign the wheel's RECORD, not this one, and are not installed;
//  * no .pyc files: Python writes them itself on first import when it can, and compiling them
//    here would need the target's Python (docs/pypi.md says more);
//  * two files of the wheel landing on one path (a root file and a .data/purelib one, a script and
//    an entry point of the same name) are refused, naming both.
// Paths are checked again (no `..`, nothing absolute) although extract_wheel already refused
// them, since the directory given may come from anywhere.
//
// plan_wheel() reads the extracted files' metadata and small scripts but writes nothing; it is
// thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::pypi {

// Where a distribution came from, for direct_url.json (PEP 610): an archive URL (a file:// URL
// for a local file) and its hash.
struct DirectUrl {
  std::string url;  // any user:password@ is removed before it is written
  std::optional<Digest> sha256;
};

struct WheelInstallOptions {
  std::string prefix = "/opt/conda";  // absolute path inside the image
  // The target Python (conda::python_info_from_record of the environment's `python`).
  conda::PythonInfo python;
  bool requested = false;                // write REQUESTED (the user asked for this distribution)
  std::optional<DirectUrl> direct_url;   // write direct_url.json
  std::string installer = "docker-envs";  // INSTALLER's content (without the newline)
};

struct WheelPlan {
  std::string name;       // METADATA Name ("typing_extensions")
  std::string version;    // METADATA Version
  std::string dist_info;  // "<site-packages>/<name>-<version>.dist-info", prefix-relative
  // Sorted by path; each entry's `package` is "<name>-<version>". Files taken unchanged are
  // Source::HostFile below the extracted directory; generated ones are Source::Bytes.
  std::vector<conda::InstallEntry> entries;
  std::vector<std::string> warnings;  // a newer Wheel-Version minor, ...
};

// The entries the wheel extracted in `extracted` (by extract_wheel, from the file `wheel_file`,
// whose name it checks the .dist-info directory against) installs. Errors carry
// "installing wheel <wheel_file>" context.
Result<WheelPlan> plan_wheel(const std::filesystem::path& extracted, std::string_view wheel_file,
                             const WheelInstallOptions& options);

// Adds the paths of `entries` (a wheel's, named `what` in messages) to `taken` (image path -> what
// installs it: "the conda package numpy-1.26.4-py311_0", another wheel). InvalidArgument naming
// both when a path is taken already: pip never overwrites a conda package's file, and two wheels
// never share one.
Status claim_paths(const std::vector<conda::InstallEntry>& entries, const std::string& what,
                   std::map<std::string, std::string>& taken);

}  // namespace de::pypi
