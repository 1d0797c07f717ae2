#include "docker_envs/pypi/resolve_image.hpp"

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/dist_filename.hpp"
#include "pypi/simple_internal.hpp"

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

Result<Digest> distribution_sha256(const DistributionFile& file) {
  if (auto it = file.hashes.find("sha256"); it != file.hashes.end())
    return DE_TRY_CTX(Digest::from_hex(it->second), "the sha256 of " + redact_url(file.url));
  std::string path = detail::file_url_path(file.url);
  if (path.empty())
    return fail(Code::InvalidArgument,
                "{}: the index gives no sha256 for this file (every download is verified, and a "
                "lock records it)",
                redact_url(file.url));
  auto reader = DE_TRY(FileReader::open(path));
  Sha256 hasher;
  std::vector<std::byte> buf(1 << 16);
  for (;;) {
    std::size_t n = DE_TRY_CTX(reader->read(buf), "reading " + path);
    if (n == 0) break;
    hasher.update(std::span(buf.data(), n));
  }
  return hasher.finish();
}

}  // namespace de::pypi
