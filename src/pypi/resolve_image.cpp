#include "docker_envs/pypi/resolve_image.hpp"

#include "docker_envs/pypi/dist_filename.hpp"

namespace de::pypi {

Result<ResolveOutcome> resolve_for_image(const ImageResolveRequest& request) {
  Target target = DE_TRY_CTX(Target::for_image(request.target), "describing the image's Python");
  ResolveRequest resolve_request{.allow_prereleases = request.allow_prereleases,
                                 .fetch_threads = request.fetch_threads};
  for (std::size_t i = 0; i < request.requirements.size(); ++i)
    resolve_request.requirements.push_back(DE_TRY_CTX(
        Requirement::parse(request.requirements[i]), fmt::format("pip requirement {}", i + 1)));
  for (const auto& dir : request.installed_dist_info)
    if (auto d = parse_dist_info_dirname(dir)) resolve_request.installed.emplace(d->name, d->version);
  auto transport = make_index_transport(request.transport);
  IndexClient client(request.sources, *transport);
  return resolve(resolve_request, target, client);
}

}  // namespace de::pypi
