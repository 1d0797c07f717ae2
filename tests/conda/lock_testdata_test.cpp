// The lock model on the real lock files in ../shared/testdata/locks (written by conda-lock and by
// pixi, versions 1 and 4-7). The expected counts and hashes come from each file itself, through a
// plain walk of its YAML here, never typed by hand.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/lock_file.hpp"
#include "support/lock_expectations.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

fs::path locks_dir() { return test::testdata_dir() / "locks"; }

std::vector<fs::path> lock_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(locks_dir()))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

using test::Counts;
using test::Expected;
using test::expected_conda_lock;
using test::expected_pixi;
using test::expected_sha256;

TEST(LockTestdata, EveryFileReadsWithTheCountsItHolds) {
  DE_REQUIRE_TESTDATA();
  if (!fs::is_directory(locks_dir())) GTEST_SKIP() << locks_dir() << " is absent";
  std::size_t checked = 0;
  for (const auto& path : lock_files()) {
    SCOPED_TRACE(path.filename().string());
    YAML::Node root = YAML::LoadFile(path.string());
    long long version = root["version"].as<long long>();
    auto lock = load_lock(path);
    if (version > kPixiLockMaxVersion) {
      ASSERT_FALSE(lock);
      EXPECT_EQ(lock.error().code(), Code::Unsupported);
      EXPECT_NE(lock.error().message().find("version " + std::to_string(version)),
                std::string::npos)
          << lock.error().to_string();
      continue;
    }
    ASSERT_TRUE(lock) << lock.error().to_string();
    EXPECT_EQ(lock->version, version);
    EXPECT_EQ(lock->format, version == 1 ? LockFormat::CondaLock : LockFormat::Pixi);
    Expected want = version == 1 ? expected_conda_lock(root) : expected_pixi(root);
    auto shas = expected_sha256(root);
    ASSERT_EQ(lock->environments.size(), want.size());
    for (const auto& env : lock->environments) {
      ASSERT_TRUE(want.contains(env.name)) << env.name;
      const auto& platforms = want.at(env.name);
      ASSERT_EQ(env.platforms.size(), platforms.size()) << env.name;
      for (const auto& p : env.platforms) {
        SCOPED_TRACE(env.name + " " + p.name);
        ASSERT_TRUE(platforms.contains(p.name));
        EXPECT_EQ(p.packages.size(), platforms.at(p.name).conda);
        EXPECT_EQ(p.pypi.size(), platforms.at(p.name).pypi);
        for (const auto& pkg : p.packages) {
          if (!pkg.source.empty()) continue;
          auto it = shas.find(pkg.record.url);
          if (it != shas.end()) {
            ASSERT_TRUE(pkg.record.sha256) << pkg.record.url;
            EXPECT_EQ(pkg.record.sha256->hex(), it->second);
          }
          EXPECT_FALSE(pkg.record.name.empty());
          EXPECT_FALSE(pkg.record.build.empty());
        }
        // Selection: everything or a refusal naming the PyPI / source packages.
        auto selected = select_environment(*lock, {.environment = env.name, .platform = p.name});
        bool sources = std::ranges::any_of(p.packages, [](auto& x) { return !x.source.empty(); });
        if (p.pypi.empty() && !sources) {
          ASSERT_TRUE(selected) << selected.error().to_string();
          EXPECT_EQ(selected->packages.size(), p.packages.size());
        } else {
          ASSERT_FALSE(selected);
          EXPECT_EQ(selected.error().code(), Code::Unsupported);
          const auto& name = p.pypi.empty() ? p.packages.front().record.name : p.pypi.front().name;
          EXPECT_NE(selected.error().message().find(name + " "), std::string::npos)
              << selected.error().to_string();
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10u);
}

TEST(LockTestdata, DefaultPlatformAndEnvironmentChoice) {
  DE_REQUIRE_TESTDATA();
  if (!fs::is_directory(locks_dir())) GTEST_SKIP() << locks_dir() << " is absent";
  // Several platforms including linux-64: linux-64 unless asked otherwise.
  auto text = read_file(locks_dir() / "v4-python-lock.yml");
  ASSERT_TRUE(text);
  auto lock = parse_lockfile(*text, "v4-python-lock.yml");
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->platform, "linux-64");
  YAML::Node root = YAML::Load(*text);
  EXPECT_EQ(lock->packages.size(), root["environments"]["default"]["packages"]["linux-64"].size());
  // pixi 7 names platforms; the environments of the file are listed when one is unknown.
  auto named = load_lock(locks_dir() / "v7-conda-path-lock.yml");
  ASSERT_TRUE(named);
  auto unknown = select_environment(*named, {.environment = "prod", .platform = "win-64"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("(the lock has: default, second)"), std::string::npos)
      << unknown.error().to_string();
}

}  // namespace
}  // namespace de::conda
