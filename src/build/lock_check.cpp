// check_lock(): compares a lock's recorded content hash with the environment file's.
#include "docker_envs/build/lock_check.hpp"

#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "docker_envs/conda/lock_hash.hpp"

namespace de::build {

Result<LockCheck> check_lock(std::string_view lock_text, std::string_view lock_file,
                             std::string_view env_file, const std::string& platform,
                             const std::function<Result<std::string>()>& expected_hash) {
  using State = LockCheck::State;
  auto unverifiable = [&](std::string_view why) {
    return LockCheck{State::Unverifiable,
                     fmt::format("{}: {}, so whether it still matches {} is not checked", lock_file,
                                 why, env_file)};
  };
  if (!conda::looks_like_conda_lock(lock_text))
    return unverifiable("the lock records no hash of the file it was made from");
  // Only the metadata is needed: read without selecting packages (PyPI entries are fine here).
  auto lock = DE_TRY(conda::read_lock(lock_text, lock_file));
  const conda::LockPlatform* entry =
      lock.environments.empty() ? nullptr : lock.environments.front().platform(platform);
  if (!entry)
    return fail(Code::InvalidArgument, "{}: the lock has no packages for {}", lock_file, platform);
  const std::string recorded = entry->content_hash;
  if (recorded.empty())
    return unverifiable(fmt::format("metadata.content_hash has no entry for {}", platform));
  if (!conda::written_by_docker_envs(lock_text))
    return unverifiable(
        "its content_hash is conda-lock's own (a hash of conda-lock's internal model of the "
        "specification), which docker-envs cannot recompute");
  auto expected =
      DE_TRY_CTX(expected_hash(), fmt::format("reading {} to check {}", env_file, lock_file));
  if (expected == recorded)
    return LockCheck{State::Fresh,
                     fmt::format("{} matches {} for {}", lock_file, env_file, platform)};
  return LockCheck{
      State::Stale,
      fmt::format("{} is stale for {}: it was made from other channels, specs, pip lines or "
                  "virtual packages than {} now gives (content_hash {} differs); remake it with "
                  "`docker-envs lock {} --platform {} --format conda-lock -o {}`",
                  lock_file, platform, env_file, recorded.substr(0, 12), env_file, platform,
                  lock_file)};
}

}  // namespace de::build
