// `@EXPLICIT` environment files (conda list --explicit, conda-lock's render): one package URL per
// line, optionally followed by `#<md5>` or `#sha256:<hex>` (or `#<64 hex>`), after an `@EXPLICIT`
// marker line. `# platform: linux-64` comments name the platform. No solve is needed: every URL
// is one exact package.
#pragma once

#include <filesystem>
#include <span>
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

// A record from a package URL alone: url, fn, subdir, channel (redacted), name/version/build and
// build_number from the file name. InvalidArgument when the file name is not name-version-build
// with a .conda / .tar.bz2 extension.
Result<PackageRecord> record_from_url(std::string_view url);

// An @EXPLICIT document for `packages` in the given order: a "# platform:" line, then one URL per
// line with "#<sha256 hex>" (conda >= 24.9, micromamba) or, when only the md5 is known, "#<md5>".
// InvalidArgument, naming the package, for a record without url or hash. Tokens are kept (the
// file must be usable to download), so treat a lock made from a token channel as a secret.
Result<std::string> write_explicit(std::span<const PackageRecord> packages,
                                   std::string_view platform);

}  // namespace de::conda
