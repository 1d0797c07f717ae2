// End-to-end: `docker-envs solve` on a channel the test writes itself (file:// layout).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

class SolveCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_ = std::make_unique<TempDir>(std::move(*d));
    channel_ = dir_->path() / "chan";
    fs::create_directories(channel_ / "linux-64");
    fs::create_directories(channel_ / "noarch");
    nlohmann::json linux = {
        {"info", {{"subdir", "linux-64"}}},
        {"packages.conda",
         {{"app-1.0-0.conda",
           {{"name", "app"},
            {"version", "1.0"},
            {"build", "0"},
            {"depends", {"lib >=2", "__glibc >=2.17"}},
            {"sha256", "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726"},
            {"md5", "d7c89558ba9fa0495403155b64376d81"}}},
          {"app-2.0-cuda.conda",
           {{"name", "app"},
            {"version", "2.0"},
            {"build", "cuda"},
            {"depends", {"lib", "__cuda >=12"}}}},
          {"lib-2.1-0.conda", {{"name", "lib"}, {"version", "2.1"}, {"build", "0"}}},
          {"old-1-0.conda",
           {{"name", "old"}, {"version", "1"}, {"build", "0"}, {"depends", {"lib <2"}}}},
          {"broken-1-0.conda", {{"name", "broken"}, {"build", "0"}}}}}};
    nlohmann::json noarch = {
        {"info", {{"subdir", "noarch"}}},
        {"packages.conda",
         {{"lib-1.5-0.conda",
           {{"name", "lib"}, {"version", "1.5"}, {"build", "0"}, {"noarch", "generic"}}}}}};
    ASSERT_TRUE(write_file_atomic(channel_ / "linux-64/repodata.json", linux.dump()));
    ASSERT_TRUE(write_file_atomic(channel_ / "noarch/repodata.json", noarch.dump()));
  }

  test::CommandResult solve(const std::string& args, const std::string& env = "") {
    return test::run_command(
        fmt::format("cd {} && {} XDG_CACHE_HOME={} {} solve {}", dir_->path().string(), env,
                    (dir_->path() / "cache").string(), test::cli_path().string(), args));
  }

  std::unique_ptr<TempDir> dir_;
  fs::path channel_;
};

TEST_F(SolveCli, JsonListsExactPackagesDependenciesFirst) {
  auto r = solve(fmt::format("-c {} app --json", channel_.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["packages"].size(), 2u) << r.out;
  const auto& lib = doc["packages"][0];
  const auto& app = doc["packages"][1];
  EXPECT_EQ(lib["name"], "lib");
  EXPECT_EQ(lib["version"], "2.1");
  EXPECT_EQ(app["name"], "app");
  EXPECT_EQ(app["version"], "1.0");  // no __cuda by default
  EXPECT_EQ(app["build_number"], 0);
  EXPECT_EQ(app["subdir"], "linux-64");
  EXPECT_EQ(app["url"], "file://" + channel_.string() + "/linux-64/app-1.0-0.conda");
  EXPECT_EQ(app["sha256"], "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726");
  EXPECT_EQ(app["md5"], "d7c89558ba9fa0495403155b64376d81");
  EXPECT_TRUE(lib["sha256"].is_null());
  // Key order as documented.
  std::vector<std::string> keys;
  auto ordered = nlohmann::ordered_json::parse(r.out);
  for (const auto& [k, v] : ordered["packages"][0].items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "version", "build", "build_number", "channel",
                                            "subdir", "url", "sha256", "md5"}));
  // The malformed record is skipped with a counted warning.
  EXPECT_NE(r.err.find("skipped 1 malformed record"), std::string::npos) << r.err;
}

TEST_F(SolveCli, VirtualPackageOverridesFromEnvironment) {
  auto r = solve(fmt::format("-c {} app --json", channel_.string()), "CONDA_OVERRIDE_CUDA=12.4");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["packages"][1]["version"], "2.0");
  r = solve(fmt::format("-c {} app", channel_.string()), "CONDA_OVERRIDE_GLIBC=2.5");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("__glibc"), std::string::npos) << r.err;
}

TEST_F(SolveCli, VirtualPackagesFromTheFileAndOverridesOverThem) {
  ASSERT_TRUE(write_file_atomic(dir_->path() / "gpu.yml",
                                "channels: [./chan]\ndependencies: [app]\n"
                                "virtual_packages:\n  __cuda: '12.4'\n"));
  auto file = (dir_->path() / "gpu.yml").string();
  auto r = solve(file + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["packages"][1]["version"], "2.0");
  // CONDA_OVERRIDE_* wins over the file: an empty value removes __cuda again.
  r = solve(file + " --json", "CONDA_OVERRIDE_CUDA=");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["packages"][1]["version"], "1.0");
}

TEST_F(SolveCli, EnvironmentFileAndExitStatuses) {
  ASSERT_TRUE(
      write_file_atomic(dir_->path() / "env.yml",
                        "name: t\nchannels:\n  - ./chan\ndependencies:\n  - app\nextra: 1\n"));
  auto r = solve("env.yml");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("app "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("env.yml:6: unknown top-level key 'extra'"), std::string::npos) << r.err;
  // Unsatisfiable: exit 3 with an explanation in conda terms.
  r = solve("env.yml old");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("old 1 0 requires lib <2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("app 1.0 0 requires lib >=2"), std::string::npos) << r.err;
  // pip: solved without it, with a warning saying that `lock` and `build` resolve it.
  ASSERT_TRUE(write_file_atomic(dir_->path() / "pip.yml",
                                "channels: [./chan]\ndependencies:\n  - app\n  - pip:\n    - x\n"));
  r = solve("pip.yml");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("pip.yml: the pip section (1 item(s)) is not resolved by `solve`"),
            std::string::npos)
      << r.err;
  // Unknown channel: a clear error naming the channel URL.
  r = solve("-c file:///nonexistent/chan app");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("channel file:///nonexistent/chan has no repodata for linux-64 or noarch"),
            std::string::npos)
      << r.err;
  // A channel token is never printed.
  r = solve("-c https://example.invalid/t/secret-token/chan app");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("https://example.invalid/t/***/chan"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret-token"), std::string::npos) << r.err;
  // Usage errors: exit 2.
  r = solve("-c ./chan app --platform amiga --channel-priority sometimes");
  EXPECT_EQ(r.status, 2) << r.err;
  r = solve("-c ./chan");  // nothing to solve
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("nothing to solve"), std::string::npos) << r.err;
  // ${VAR} in a file's channels comes from the environment; an unset one is named.
  ASSERT_TRUE(write_file_atomic(dir_->path() / "vars.yml",
                                "channels:\n  - ${DE_TEST_CHANNEL}\ndependencies: [lib]\n"));
  r = solve("vars.yml", "DE_TEST_CHANNEL=" + channel_.string());
  EXPECT_EQ(r.status, 0) << r.err;
  r = solve("vars.yml");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("uses $DE_TEST_CHANNEL but it is not set"), std::string::npos) << r.err;
  r = solve("-c ./chan app --channel-priority flexible");
  EXPECT_EQ(r.status, 0) << r.err;
}

}  // namespace
}  // namespace de::conda
