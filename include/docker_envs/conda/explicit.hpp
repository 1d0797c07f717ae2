// `@EXPLICIT` environment files (conda list --explicit, conda-lock's render): one package URL per
// line, optionally followed by `#<md5>` or `#sha256:<hex>` (or `#<64 hex>`), after an `@EXPLICIT`
// marker line. `# platform: linux-64` comments name the platform. No solve is needed: every URL
// is one exact package.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::conda {

struct ExplicitEnvironment {
  std::string platform;  // from "# platform: X", "" when absent
  // One record per package line, in file order: url, fn, channel (URL up to the subdir,
  // redacted), subdir, name/version/build from the file name, md5 / sha256 when given.
  std::vector<PackageRecord> packages;
};

// `what` names the document in errors ("env.txt:12: ...").
Result<ExplicitEnvironment> parse_explicit(std::string_view text, std::string_view what);
Result<ExplicitEnvironment> load_explicit(const std::filesystem::path& path);

}  // namespace de::conda
