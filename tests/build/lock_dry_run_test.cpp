// `docker-envs build LOCK --dry-run --json` on every real lock file in ../shared/testdata/locks
// (written by conda-lock and by pixi): for each environment and Linux platform the file holds, the
// packages listed are exactly the file's, with the hashes it gives. The expectations come from a
// plain walk of each file's YAML (support/lock_expectations.hpp), never typed by hand. The URLs
// point at public channels the tests cannot reach: a dry run downloads nothing, so it needs none.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "support/lock_expectations.hpp"
#include "support/testdata.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;

TEST(LockDryRun, EveryRealLockListsExactlyItsPackages) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = test::testdata_dir() / "locks";
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " is absent";
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  std::size_t checked = 0, refused = 0, with_pypi = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const fs::path& path = entry.path();
    SCOPED_TRACE(path.filename().string());
    YAML::Node root = YAML::LoadFile(path.string());
    long long version = root["version"].as<long long>();
    if (version > conda::kPixiLockMaxVersion) continue;  // refused: tests/conda covers it
    test::Expected want =
        version == 1 ? test::expected_conda_lock(root) : test::expected_pixi(root);
    auto shas = test::expected_sha256(root);
    for (const auto& [env, platforms] : want) {
      for (const auto& [platform, counts] : platforms) {
        // Images are Linux; pixi 7 may also name a platform freely (its subdir decides).
        if (platform != "linux-64" && platform != "linux-aarch64" && platform != "linux-ppc64le")
          continue;
        SCOPED_TRACE(env + " " + platform);
        auto r = test::run_command(
            fmt::format("cd '{}' && '{}' build '{}' --dry-run --json -e '{}' --platform '{}' "
                        "--base scratch --cache-dir cache",
                        tmp->path().string(), test::cli_path().string(), path.string(), env,
                        platform));
        if (counts.pypi > 0 && r.status != 0) {
          // A PyPI entry that is no wheel (a source tree) or has no sha256 is refused, named.
          EXPECT_TRUE(r.err.find("is a source distribution or tree") != std::string::npos ||
                      r.err.find("has no sha256") != std::string::npos)
              << r.err;
          ++refused;
          continue;
        }
        ASSERT_EQ(r.status, 0) << r.err;
        auto doc = nlohmann::json::parse(r.out);
        // The lock's wheels are listed with their hashes (conda-lock names an entry once per
        // category, the listing once).
        const auto& pypi = doc.at("pypi");
        EXPECT_LE(pypi.size(), counts.pypi);
        EXPECT_EQ(pypi.empty(), counts.pypi == 0);
        for (const auto& p : pypi) {
          auto it = shas.find(p.at("url").get<std::string>());
          ASSERT_NE(it, shas.end()) << p.at("url");
          EXPECT_EQ(p.at("sha256"), it->second) << p.at("url");
        }
        if (!pypi.empty()) ++with_pypi;
        const auto& packages = doc.at("packages");
        EXPECT_EQ(packages.size(), counts.conda);
        std::size_t hashed = 0;
        for (const auto& p : packages) {
          auto it = shas.find(p.at("url").get<std::string>());
          if (it == shas.end()) continue;
          EXPECT_EQ(p.at("sha256"), it->second) << p.at("url");
          ++hashed;
        }
        EXPECT_GT(hashed, 0u);
        EXPECT_FALSE(doc.at("layers").empty());
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 3u);
  EXPECT_GT(refused, 0u);    // v7-pypi_custom_index: a local source tree
  EXPECT_GT(with_pypi, 0u);  // v0-pypi-matplotlib-conda-lock: pip wheels
  // Nothing was fetched or written: the package cache is not even created.
  EXPECT_FALSE(fs::exists(tmp->path() / "cache" / "pkgs" / "urls.txt"));
}

}  // namespace
}  // namespace de::build
