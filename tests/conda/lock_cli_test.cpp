// End-to-end: `docker-envs lock` on a channel the test builds, then `env install` of the lock.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/package.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

std::string cli() { return de::test::cli_path().string(); }

// A local channel: lib 1.0 and 2.0, app 1.0 (depends lib <2), in linux-64; noarch empty.
fs::path make_channel(const fs::path& dir) {
  fs::path chan = dir / "chan";
  fs::create_directories(chan / "linux-64");
  fs::create_directories(chan / "noarch");
  nlohmann::json packages = nlohmann::json::object();
  struct P {
    std::string name, version;
    std::vector<std::string> depends;
  };
  for (const P& p : {P{"lib", "1.0", {}}, P{"lib", "2.0", {}}, P{"app", "1.0", {"lib <2"}}}) {
    test::PackageSpec spec;
    spec.name = p.name;
    spec.version = p.version;
    spec.depends = p.depends;
    spec.payload = {test::file("share/" + p.name + ".txt", p.name + " " + p.version + "\n")};
    auto pkg = test::build_package(chan / "linux-64", spec, PackageFormat::Conda);
    EXPECT_TRUE(pkg);
    auto h = hash_package_file(*pkg);
    packages[pkg->filename().string()] = {{"name", p.name},
                                          {"version", p.version},
                                          {"build", "0"},
                                          {"build_number", 0},
                                          {"depends", p.depends},
                                          {"subdir", "linux-64"},
                                          {"sha256", h->sha256.hex()},
                                          {"md5", h->md5.hex()},
                                          {"size", h->size}};
  }
  EXPECT_TRUE(write_file_atomic(
      chan / "linux-64/repodata.json",
      nlohmann::json{{"info", {{"subdir", "linux-64"}}}, {"packages.conda", packages}}.dump()));
  EXPECT_TRUE(write_file_atomic(chan / "noarch/repodata.json",
                                R"({"info":{"subdir":"noarch"},"packages":{}})"));
  return chan;
}

TEST(LockCli, WritesLocksThatInstall) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path chan = make_channel(dir->path());
  fs::path cache = dir->path() / "cache";
  std::string common =
      fmt::format("-c {} --repodata-cache {} --platform linux-64", chan.string(), cache.string());

  fs::path explicit_file = dir->path() / "env.txt";
  auto r = de::test::run_command(
      fmt::format("{} lock {} app -o {}", cli(), common, explicit_file.string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  auto env = load_explicit(explicit_file);
  ASSERT_TRUE(env) << env.error().to_string();
  EXPECT_EQ(env->platform, "linux-64");
  ASSERT_EQ(env->packages.size(), 2u);
  EXPECT_EQ(env->packages[0].dist_name(), "lib-1.0-0");  // dependencies first, lib <2 honoured
  EXPECT_EQ(env->packages[1].dist_name(), "app-1.0-0");
  EXPECT_TRUE(env->packages[0].sha256);

  fs::path lock_file = dir->path() / "conda-lock.yml";
  r = de::test::run_command(
      fmt::format("{} lock {} app -o {} --format conda-lock", cli(), common, lock_file.string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  auto lock = load_conda_lock(lock_file);
  ASSERT_TRUE(lock) << lock.error().to_string();
  ASSERT_EQ(lock->packages.size(), 2u);
  EXPECT_EQ(lock->packages[1].depends, std::vector<std::string>{"lib <2"});
  EXPECT_EQ(lock->content_hash.at("linux-64").size(), 64u);

  // Both install the environment.
  for (const fs::path& f : {explicit_file, lock_file}) {
    fs::path root = dir->path() / ("root-" + f.filename().string());
    auto i = de::test::run_command(fmt::format("{} env install {} --root {} --cache {}", cli(),
                                               f.string(), root.string(),
                                               (dir->path() / "pkgs").string()));
    ASSERT_EQ(i.status, 0) << i.err;
    EXPECT_EQ(*read_file(root / "opt/conda/share/lib.txt"), "lib 1.0\n");
    EXPECT_EQ(*read_file(root / "opt/conda/share/app.txt"), "app 1.0\n");
  }

  // Unsatisfiable: exit 3 and nothing written; the old lock stays as it was.
  auto before = read_file(explicit_file);
  ASSERT_TRUE(before);
  auto u = de::test::run_command(
      fmt::format("{} lock {} 'app >=2' -o {}", cli(), common, explicit_file.string()));
  EXPECT_EQ(u.status, 3) << u.err;
  EXPECT_EQ(*read_file(explicit_file), *before);
}

// Without -o the lock is conda-lock.yml beside the environment file, in conda-lock format; the
// channels it records are normal absolute paths (a file's relative channel is resolved from the
// file's directory, with no "dir/../" left in it).
TEST(LockCli, DefaultsToCondaLockYmlBesideTheFileWithNormalChannels) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path chan = make_channel(dir->path());
  fs::create_directories(dir->path() / "proj");
  ASSERT_TRUE(write_file_atomic(dir->path() / "proj/environment.yml",
                                "name: app\nchannels:\n  - ../chan\ndependencies:\n  - app\n"));
  fs::path cache = dir->path() / "cache";
  auto r = de::test::run_command(fmt::format("cd {} && {} lock proj/environment.yml --repodata-cache {}",
                                             dir->path().string(), cli(), cache.string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  fs::path written = dir->path() / "proj/conda-lock.yml";
  auto lock = load_conda_lock(written);
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->packages.size(), 2u);
  auto text = read_file(written);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->find("/../"), std::string::npos) << *text;
  EXPECT_NE(text->find("url: \"" + chan.string() + "\""), std::string::npos) << *text;

  // Specs only: conda-lock.yml in the working directory; -c with ".." is made normal too.
  fs::create_directories(dir->path() / "work");
  auto specs = de::test::run_command(
      fmt::format("cd {} && {} lock -c ../proj/../chan app --repodata-cache {}",
                  (dir->path() / "work").string(), cli(), cache.string()));
  ASSERT_EQ(specs.status, 0) << specs.out << specs.err;
  auto spec_lock = read_file(dir->path() / "work/conda-lock.yml");
  ASSERT_TRUE(spec_lock);
  EXPECT_EQ(spec_lock->find("/../"), std::string::npos) << *spec_lock;
  EXPECT_TRUE(load_conda_lock(dir->path() / "work/conda-lock.yml"));
  // An explicit -o still chooses: a .txt name is @EXPLICIT unless --format says otherwise.
  auto txt = de::test::run_command(
      fmt::format("cd {} && {} lock -c ../chan app -o env.txt --repodata-cache {}",
                  (dir->path() / "work").string(), cli(), cache.string()));
  ASSERT_EQ(txt.status, 0) << txt.err;
  EXPECT_TRUE(load_explicit(dir->path() / "work/env.txt"));
}

}  // namespace
}  // namespace de::conda
