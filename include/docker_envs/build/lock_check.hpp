// `build ENV_FILE --lock LOCK`: is LOCK still what ENV_FILE asks for?
//
// Only a hash docker-envs can recompute is compared: the per-platform `metadata.content_hash`
// that `docker-envs lock --format conda-lock` writes (conda::solve_request_hash of the request
// solved from the environment file). conda-lock's own content_hash is computed over conda-lock's
// internal spec model and cannot be recomputed here; @EXPLICIT files and pixi locks record no hash
// of their source. Those are reported as unverifiable, never guessed at.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::build {

struct LockCheck {
  enum class State { Fresh, Stale, Unverifiable } state = State::Unverifiable;
  std::string message;  // why (names the lock, the environment file and the platform)
};

// `expected_hash` gives the hash of what the environment file asks for now on `platform`
// (conda::solve_request_hash of its solve request and pip lines); it is asked for only when the
// lock's hash can be compared. The lock may hold PyPI entries.
Result<LockCheck> check_lock(std::string_view lock_text, std::string_view lock_file,
                             std::string_view env_file, const std::string& platform,
                             const std::function<Result<std::string>()>& expected_hash);

}  // namespace de::build
