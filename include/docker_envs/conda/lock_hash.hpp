// The content hash docker-envs writes into a conda-lock file (`metadata.content_hash`), so that a
// lock can be checked against the environment file it was made from (`build ENV --lock LOCK`).
//
// conda-lock's own content_hash is a sha256 over conda-lock's internal specification model
// (pydantic objects serialised to JSON); it cannot be recomputed outside conda-lock, so only locks
// that docker-envs wrote (recognised by their header line) carry a hash that is comparable.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "docker_envs/conda/solver.hpp"

namespace de::conda {

// The sha256 (hex) of what a solve request is made of: the redacted channels, specs, pins,
// platform, channel priority and the virtual package overrides that are set. Equal requests give
// equal hashes; it is what `docker-envs lock --format conda-lock` records per platform. An
// environment file's pip lines (EnvironmentSpec::pip, as written) count too when there are any
// (a file without them keeps the hash it always had).
std::string solve_request_hash(const EnvironmentSolveRequest& request,
                               std::span<const std::string> pip_lines = {});

// True when `lock_text` is a conda-lock file written by `docker-envs lock` (its first line says
// so), whose content_hash is solve_request_hash() of the request it was solved from.
bool written_by_docker_envs(std::string_view lock_text);

}  // namespace de::conda
