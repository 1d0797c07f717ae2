// PyPI entries of locks selected for installation (LockSelection::pypi): real conda-lock and pixi
// files, categories, path entries as file:// URLs below the lock's directory, and the refusals.
#include <gtest/gtest.h>

#include <algorithm>

#include "docker_envs/conda/lock_file.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> names(const std::vector<PypiLockEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

TEST(LockPypi, CondaLockPipEntriesByCategory) {
  DE_REQUIRE_TESTDATA();
  fs::path file = test::testdata_dir() / "env-files/mamba/good_multiple_categories-lock.yaml";
  auto lock = load_lock(file);
  ASSERT_TRUE(lock) << lock.error().to_string();
  auto main = select_environment(*lock, {.platform = "linux-64", .pypi = true});
  ASSERT_TRUE(main) << main.error().to_string();
  auto main_names = names(main->pypi);
  EXPECT_NE(std::ranges::find(main_names, "certifi"), main_names.end());
  EXPECT_NE(std::ranges::find(main_names, "requests"), main_names.end());
  EXPECT_EQ(std::ranges::find(main_names, "pytest-mock"), main_names.end());
  for (const auto& e : main->pypi) {
    EXPECT_TRUE(e.sha256) << e.name;
    EXPECT_EQ(e.url, e.location);
    EXPECT_TRUE(e.url.ends_with(".whl")) << e.url;
  }
  auto dev = select_environment(
      *lock, {.platform = "linux-64", .categories = {"main", "dev"}, .pypi = true});
  ASSERT_TRUE(dev) << dev.error().to_string();
  auto dev_names = names(dev->pypi);
  EXPECT_NE(std::ranges::find(dev_names, "pytest-mock"), dev_names.end());
  EXPECT_EQ(dev->pypi.size(), main->pypi.size() + 1);
  // Without asking for them, they are refused as before.
  auto refused = select_environment(*lock, {.platform = "linux-64"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::Unsupported);
}

TEST(LockPypi, PixiPathEntriesBecomeFileUrlsBelowTheLock) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = test::testdata_dir() / "locks";
  auto lock = load_lock(dir / "v7-pypi_custom_index.yml");
  ASSERT_TRUE(lock) << lock.error().to_string();
  auto env = select_environment(*lock, {.platform = "linux-64", .pypi = true});
  ASSERT_TRUE(env) << env.error().to_string();
  ASSERT_EQ(names(env->pypi), (std::vector<std::string>{"local-pkg", "numpy", "requests"}));
  const PypiLockEntry& local = env->pypi[0];
  EXPECT_EQ(local.location, "./local-pkg");
  EXPECT_TRUE(local.url.starts_with("file://")) << local.url;
  EXPECT_TRUE(local.url.ends_with("/locks/local-pkg")) << local.url;
  EXPECT_FALSE(local.sha256);
  EXPECT_EQ(env->pypi[1].sha256->hex(),
            "f93fc78fe8bf15afe2b8d6b6499f1c73953571c004b3135db0c83b9a5fd4e5e1");
}

TEST(LockPypi, PathsLeavingTheLockDirectoryAreRefusedWhenInstalled) {
  std::string text = R"(version: 6
environments:
  default:
    channels:
    - url: https://conda.anaconda.org/conda-forge/
    packages:
      linux-64:
      - pypi: ../outside/evil-1.0-py3-none-any.whl
packages:
- pypi: ../outside/evil-1.0-py3-none-any.whl
  name: evil
  version: '1.0'
  sha256: f93fc78fe8bf15afe2b8d6b6499f1c73953571c004b3135db0c83b9a5fd4e5e1
)";
  auto lock = read_lock(text, "dir/pixi.lock", "dir");
  ASSERT_TRUE(lock) << lock.error().to_string();
  auto env = select_environment(*lock, {.pypi = true});
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().code(), Code::InvalidArgument);
  EXPECT_NE(env.error().message().find("dir/pixi.lock:10: pypi package evil: path "
                                       "'../outside/evil-1.0-py3-none-any.whl' leaves the lock "
                                       "file's directory"),
            std::string::npos)
      << env.error().to_string();
}

}  // namespace
}  // namespace de::conda
