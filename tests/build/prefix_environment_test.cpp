// build::read_prefix_environment(): an existing environment's conda-meta records and the files
// they do not own.
#include "docker_envs/build/prefix_environment.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class PrefixEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    fs::create_directories(prefix() / "conda-meta");
  }
  fs::path prefix() const { return dir_->path() / "env"; }

  // A record as conda writes it: files in `files` and/or `paths_data`, which are created.
  void add(const std::string& name, const std::vector<std::string>& depends,
           const std::vector<std::string>& files, const std::vector<std::string>& paths) {
    json doc{{"name", name},
             {"version", "1.0"},
             {"build", "0"},
             {"build_number", 0},
             {"subdir", "linux-64"},
             {"depends", depends},
             {"url", "https://conda.example/linux-64/" + name + "-1.0-0.conda"},
             {"channel", "https://conda.example"},
             {"md5", std::string(32, 'a')},
             {"files", files}};
    json pd = json::array();
    for (const auto& p : paths) pd.push_back({{"_path", p}, {"path_type", "hardlink"}});
    doc["paths_data"] = {{"paths", pd}, {"paths_version", 1}};
    ASSERT_TRUE(write_file_atomic(prefix() / "conda-meta" / (name + "-1.0-0.json"), doc.dump()));
    for (const auto& f : files) touch(f);
    for (const auto& f : paths) touch(f);
  }
  void touch(const std::string& rel) {
    fs::create_directories((prefix() / rel).parent_path());
    ASSERT_TRUE(write_file_atomic(prefix() / rel, rel));
  }

  std::optional<TempDir> dir_;
};

TEST_F(PrefixEnvironmentTest, RecordsInInstallOrderAndUnownedFilesNamed) {
  add("zlib", {}, {"lib/libz.so"}, {"lib/libz.so"});
  add("app", {"zlib >=1"}, {}, {"bin/app"});  // paths_data only
  touch("share/pip-installed.txt");
  touch("lib/python3.12/__pycache__/m.cpython-312.pyc");
  touch("lib/python3.12/site-packages/m.pyc");
  touch("pkgs/zlib-1.0-0.conda");
  touch("conda-meta/history");
  auto env = read_prefix_environment(prefix());
  ASSERT_TRUE(env) << env.error().to_string();
  ASSERT_EQ(env->packages.size(), 2u);
  EXPECT_EQ(env->packages[0].name, "zlib");  // dependencies first
  EXPECT_EQ(env->packages[1].name, "app");
  EXPECT_EQ(env->packages[1].fn, "app-1.0-0.conda");
  EXPECT_TRUE(env->packages[1].md5);
  EXPECT_EQ(env->platform, "linux-64");
  EXPECT_EQ(env->unowned, std::vector<std::string>{"share/pip-installed.txt"});

  auto warning = unowned_files_warning(prefix(), env->unowned);
  EXPECT_NE(warning.find("1 file(s) that no package record owns"), std::string::npos) << warning;
  EXPECT_NE(warning.find("share/pip-installed.txt"), std::string::npos);
  EXPECT_EQ(unowned_files_warning(prefix(), {}), "");
  auto many = unowned_files_warning(prefix(), {"a", "b", "c", "d"}, 2);
  EXPECT_NE(many.find("4 file(s)"), std::string::npos);
  EXPECT_NE(many.find(": a, b and 2 more"), std::string::npos) << many;
}

TEST_F(PrefixEnvironmentTest, RecordsThatCannotBeFetchedAgainAreRefusedNamingTheFile) {
  json doc{{"name", "nourl"}, {"version", "1"}, {"build", "0"}, {"md5", std::string(32, 'a')}};
  ASSERT_TRUE(write_file_atomic(prefix() / "conda-meta/nourl-1-0.json", doc.dump()));
  auto env = read_prefix_environment(prefix());
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().code(), Code::InvalidArgument);
  EXPECT_NE(env.error().to_string().find("nourl-1-0.json"), std::string::npos);
  EXPECT_NE(env.error().to_string().find("no url"), std::string::npos);

  doc = {{"name", "nohash"}, {"version", "1"}, {"build", "0"}, {"url", "https://x/nohash.conda"}};
  fs::remove(prefix() / "conda-meta/nourl-1-0.json");
  ASSERT_TRUE(write_file_atomic(prefix() / "conda-meta/nohash-1-0.json", doc.dump()));
  env = read_prefix_environment(prefix());
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().to_string().find("no md5 or sha256"), std::string::npos);

  auto not_env = read_prefix_environment(dir_->path() / "nothing");
  ASSERT_FALSE(not_env);
  EXPECT_EQ(not_env.error().code(), Code::NotFound);
}

}  // namespace
}  // namespace de::build
