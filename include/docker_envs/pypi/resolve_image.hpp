// The one call the build makes to resolve an environment's PyPI requirements for an image:
// requirement texts, where to look, what the image is, and what its conda packages already
// install, in; a Resolution (one wheel per distribution) or an Unresolvable explanation out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/index_client.hpp"
#include "docker_envs/pypi/resolver.hpp"
#include "docker_envs/pypi/target.hpp"

namespace de::pypi {

// pip's default index, for callers whose input names none.
inline constexpr std::string_view kPypiIndex = "https://pypi.org/simple";

struct ImageResolveRequest {
  TargetSpec target;
  // PEP 508 texts (environment.yml `- pip:` items without the pip options).
  std::vector<std::string> requirements;
  IndexSources sources;  // used as given: add kPypiIndex for pip's default
  // The `*.dist-info` directory names the conda packages put in site-packages
  // ("numpy-1.26.4.dist-info"): those distributions count as installed and are never replaced.
  std::vector<std::string> installed_dist_info;
  bool allow_prereleases = false;
  IndexTransportOptions transport;
  unsigned fetch_threads = 8;  // ResolveRequest::fetch_threads
};

// InvalidArgument naming the requirement for one that does not parse; the target's errors
// (Unsupported platform, bad python version); index errors; otherwise the outcome.
Result<ResolveOutcome> resolve_for_image(const ImageResolveRequest& request);

// A resolved file's sha256: the index's, else, for a file:// URL (a --find-links directory),
// computed from the file. InvalidArgument naming the (redacted) URL when neither is possible:
// every download is verified, and a lock records the hash.
Result<Digest> distribution_sha256(const DistributionFile& file);

}  // namespace de::pypi
