// --offline: a fetcher that never reaches the network, and the check of the package cache.
#include "docker_envs/build/offline.hpp"

#include <set>

#include "docker_envs/conda/package_cache.hpp"

namespace de::build {

namespace {

namespace fs = std::filesystem;

bool is_file_url(std::string_view url) { return url.starts_with("file://"); }

class OfflineFetcher final : public conda::Fetcher {
 public:
  explicit OfflineFetcher(std::unique_ptr<conda::Fetcher> inner) : inner_(std::move(inner)) {}

  Result<std::unique_ptr<Reader>> open(const std::string& url) override {
    DE_TRY(check(url));
    return inner_->open(url);
  }
  Result<conda::FetchOutcome> fetch_to(const std::string& url, Writer& out,
                                       const conda::FetchConditions& conditions) override {
    DE_TRY(check(url));
    return inner_->fetch_to(url, out, conditions);
  }
  std::optional<fs::path> local_path(const std::string& url) override {
    if (!is_file_url(url)) return std::nullopt;
    return inner_->local_path(url);
  }

 private:
  static Status check(const std::string& url) {
    if (is_file_url(url)) return {};
    return fail(Code::Network, "offline: not fetching {}", conda::redact_url(url));
  }
  std::unique_ptr<conda::Fetcher> inner_;
};

}  // namespace

std::unique_ptr<conda::Fetcher> make_offline_fetcher(std::unique_ptr<conda::Fetcher> inner) {
  return std::make_unique<OfflineFetcher>(std::move(inner));
}

std::vector<std::string> missing_packages(std::span<const conda::PackageRecord> packages,
                                          const fs::path& package_cache, conda::Fetcher& fetcher) {
  conda::PackageCache cache(package_cache);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& p : packages) {
    if (!seen.insert(p.url).second) continue;
    if (!cache.local_source(p.url, {.sha256 = p.sha256, .md5 = p.md5, .size = p.size}, fetcher))
      out.push_back(p.dist_name() + " (" + conda::redact_url(p.url) + ")");
  }
  return out;
}

Status check_offline(std::span<const conda::PackageRecord> packages, const fs::path& package_cache,
                     conda::Fetcher& fetcher) {
  auto missing = missing_packages(packages, package_cache, fetcher);
  if (missing.empty()) return {};
  return fail(Code::NotFound,
              "offline: {} package(s) are neither in the package cache ({}) nor local files: {}; "
              "build once without --offline to fetch them",
              missing.size(), package_cache.string(), fmt::join(missing, ", "));
}

}  // namespace de::build
