// pip's requirement lines, as an environment.yml `- pip:` list and a requirements file (`-r FILE`)
// hold them: PEP 508 requirements and the pip options that say where to look.
//
//   requests[socks] >=2.28 ; python_version >= "3.8"     a requirement (checked with Requirement)
//   demo @ https://host/demo-1.0-py3-none-any.whl        a direct URL requirement
//   ./wheels/demo-1.0-py3-none-any.whl                   a wheel path (relative to the file),
//                                                        read as `demo @ file:///abs/...`
//   -i URL, --index-url URL        replaces the default index (https://pypi.org/simple)
//   --extra-index-url URL          an index searched as well
//   -f LOCATION, --find-links ...  a directory (relative to the file) or a page of links
//   --no-index                     no index at all (find-links only)
//   --pre                          pre-releases allowed
//   -r FILE, --requirement FILE    the lines of FILE (relative to the file naming it), recursively
//   --trusted-host, --only-binary, --prefer-binary   accepted and ignored (warning for the first)
//
// Refused, naming file and line: `-e` (editable installs build a source tree), `-c` constraint
// files, `--no-binary` (wheels only), per-requirement options (`--hash`), any other option, a
// requirement that is not PEP 508, a `-r` cycle. `${VAR}` is expanded from `getenv` (pip's rule:
// upper-case letters, digits and `_`); an unset variable is an error naming it. Comments (` #`)
// and blank lines are skipped; a file's lines ending in `\` continue on the next.
//
// Credentials in index URLs are kept (they are needed to ask the index) but only ever shown
// redacted.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/index_client.hpp"

namespace de::pypi {

struct PipLine {
  std::string text;
  std::string where;  // "environment.yml:12": what errors name
};

struct PipRequirement {
  std::string text;   // a PEP 508 requirement (a wheel path made `name @ file://...`)
  std::string where;  // "environment.yml:12", "reqs.txt:3"
};

struct PipRequirements {
  std::vector<PipRequirement> requirements;   // in the order given
  std::optional<std::string> index_url;       // the last --index-url
  std::vector<std::string> extra_index_urls;  // in the order given, each once
  std::vector<std::string> find_links;        // URLs or absolute paths, each once
  bool no_index = false;
  bool pre = false;
  std::vector<std::string> warnings;  // "env.yml:4: --trusted-host is ignored"

  // The index URLs (index_url, else kPypiIndex, unless no_index; then the extra ones) and the
  // find-links locations.
  IndexSources sources() const;
};

struct PipReadOptions {
  // Where relative paths of `lines` (-r, -f, wheel paths) start: the environment file's directory.
  std::filesystem::path base_dir;
  // ${VAR} values; unset: a ${VAR} is an error.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

// InvalidArgument / Unsupported naming the line (see above); NotFound for a missing -r file.
Result<PipRequirements> read_pip_lines(std::span<const PipLine> lines,
                                       const PipReadOptions& options);

}  // namespace de::pypi
