// `build --offline`: no network at all. Packages must come from the package cache (or local
// files); what is missing is found before any other work, and listed.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::build {

// A Fetcher that reads file:// URLs through `inner` and refuses every other URL (Network error
// naming the redacted URL): a guarantee that nothing reaches the network.
std::unique_ptr<conda::Fetcher> make_offline_fetcher(std::unique_ptr<conda::Fetcher> inner);

// The packages (dist names) that `package_cache` cannot provide without a download.
std::vector<std::string> missing_packages(std::span<const conda::PackageRecord> packages,
                                          const std::filesystem::path& package_cache,
                                          conda::Fetcher& fetcher);

// NotFound listing every missing package (with its URL, redacted) when there are any.
Status check_offline(std::span<const conda::PackageRecord> packages,
                     const std::filesystem::path& package_cache, conda::Fetcher& fetcher);

}  // namespace de::build
