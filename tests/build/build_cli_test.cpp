// `docker-envs build` end to end on packages the test builds: outputs read back with our readers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "build_fixtures.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/tar.hpp"
#include "support/testdata.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;

class BuildCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    fs::create_directories(dir_->path() / "channel");
    auto dep = test::record_for(dir_->path() / "channel", test::dep_spec());
    auto hello = test::record_for(dir_->path() / "channel", test::hello_spec());
    std::string lock = "# platform: linux-64\n@EXPLICIT\n";
    nlohmann::json packages = nlohmann::json::object();
    for (const auto& r : {dep, hello}) {
      lock += r.url + "#sha256:" + r.sha256->hex() + "\n";
      packages[r.fn] = {
          {"name", r.name},
          {"version", r.version},
          {"build", r.build},
          {"build_number", 0},
          {"depends", r.name == "hello" ? nlohmann::json{"dep"} : nlohmann::json::array()},
          {"sha256", r.sha256->hex()},
          {"subdir", "linux-64"}};
    }
    ASSERT_TRUE(write_file_atomic(dir_->path() / "env.lock", lock));
    // The same directory is a channel: linux-64/repodata.json lists both packages.
    fs::create_directories(dir_->path() / "channel/linux-64");
    for (const auto& r : {dep, hello})
      fs::rename(dir_->path() / "channel" / r.fn, dir_->path() / "channel/linux-64" / r.fn);
    ASSERT_TRUE(write_file_atomic(dir_->path() / "channel/linux-64/repodata.json",
                                  nlohmann::json{{"info", {{"subdir", "linux-64"}}},
                                                 {"packages", nlohmann::json::object()},
                                                 {"packages.conda", packages}}
                                      .dump()));
    // The lock's URLs follow the files.
    std::string moved;
    for (const auto& r : {dep, hello})
      moved += "file://" + (dir_->path() / "channel/linux-64" / r.fn).string() +
               "#sha256:" + r.sha256->hex() + "\n";
    ASSERT_TRUE(
        write_file_atomic(dir_->path() / "env.lock", "# platform: linux-64\n@EXPLICIT\n" + moved));
    for (auto r : {dep, hello}) {
      r.url = "file://" + (dir_->path() / "channel/linux-64" / r.fn).string();
      records_.push_back(r);
    }
  }

  de::test::CommandResult build(const std::string& args) {
    return de::test::run_command(fmt::format(
        "cd {} && SOURCE_DATE_EPOCH=1700000000 {} build --cache-dir {} {}", dir_->path().string(),
        de::test::cli_path().string(), (dir_->path() / "cache").string(), args));
  }

  std::optional<TempDir> dir_;
  std::vector<conda::PackageRecord> records_;  // dep, hello (in the channel's linux-64)
};

TEST_F(BuildCli, ExplicitLockToEveryTransport) {
  auto r = build(
      "env.lock --base scratch -t demo:1.0 --json --cmd '[\"hello\"]' --user 1000:1000 "
      "--label team=x --env LANG=C.UTF-8");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["image"], "demo:1.0");
  EXPECT_EQ(j["destination"], "docker-archive:demo-1.0.tar:demo:1.0");  // the tag in the name
  EXPECT_EQ(j["packages"], 2);
  ASSERT_EQ(j["layers"].size(), 3u);
  EXPECT_EQ(j["layers"][1]["packages"][0], "hello-1.0-0");
  EXPECT_EQ(j["bytes_reused"], 0);
  // Not a terminal: plain progress on stderr, a line per stage and no line per package or layer.
  EXPECT_NE(r.err.find("[fetch] done in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[layers] done in "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hello-1.0-0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrote docker-archive:demo-1.0.tar:demo:1.0"), std::string::npos) << r.err;

  auto image = oci::read_image(
      {oci::Transport::DockerArchive, (dir_->path() / "demo-1.0.tar").string(), "demo:1.0"});
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(image->layers.size(), 3u);
  EXPECT_EQ(image->config.user(), "1000:1000");
  EXPECT_EQ(image->config.labels()["team"], "x");
  EXPECT_EQ(image->config.env_var("LANG"), "C.UTF-8");
  auto inspect = de::test::run_command(fmt::format(
      "{} image inspect {}", de::test::cli_path().string(), (dir_->path() / "demo-1.0.tar").string()));
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  EXPECT_EQ(nlohmann::json::parse(inspect.out)["manifest_digest"], j["manifest_digest"]);

  // Rebuild to an OCI layout: new gzip layers; then again: everything reused, same digest.
  auto oci1 = build("env.lock --base scratch -t demo:1.0 --json -o oci:layout:v1");
  ASSERT_EQ(oci1.status, 0) << oci1.err;
  auto oci2 = build("env.lock --base scratch -t demo:1.0 --json -o oci-archive:demo.oci.tar:v1");
  ASSERT_EQ(oci2.status, 0) << oci2.err;
  auto j1 = nlohmann::json::parse(oci1.out), j2 = nlohmann::json::parse(oci2.out);
  EXPECT_GT(j1["bytes_new"], 0);
  EXPECT_EQ(j2["bytes_new"], 0);
  EXPECT_EQ(j1["manifest_digest"], j2["manifest_digest"]);
  auto layout =
      oci::read_image({oci::Transport::OciArchive, (dir_->path() / "demo.oci.tar").string(), "v1"});
  ASSERT_TRUE(layout) << layout.error().to_string();
  EXPECT_EQ(layout->layers.size(), 3u);
}

TEST_F(BuildCli, EnvironmentYmlIsSolvedAndItsImageSectionApplied) {
  fs::create_directories(dir_->path() / "app");
  ASSERT_TRUE(write_file_atomic(dir_->path() / "app/run.sh", "echo run\n"));
  ASSERT_TRUE(write_file_atomic(dir_->path() / "environment.yml", R"(name: demo
channels: [./channel]
dependencies: [hello 1.0.*]
variables: {FROM_VARIABLES: "1"}
image:
  base: scratch
  name: demo-image:2
  entrypoint: [hello]
  workdir: /app
  env: {LANG: C.UTF-8}
  labels: {team: build}
  files: ["app:/app"]
  layering: {strategy: single}
)"));
  auto r = build("--json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["image"], "demo-image:2");
  EXPECT_EQ(j["packages"], 2);
  ASSERT_EQ(j["layers"].size(), 2u);  // single: one environment layer, then the final layer
  EXPECT_EQ(j["layers"][0]["packages"].size(), 2u);
  auto image = oci::read_image(
      {oci::Transport::DockerArchive, (dir_->path() / "demo-image-2.tar").string(), "demo-image:2"});
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(image->config.entrypoint(), std::vector<std::string>{"hello"});
  EXPECT_EQ(image->config.working_dir(), "/app");
  EXPECT_EQ(image->config.env_var("FROM_VARIABLES"), "1");
  EXPECT_EQ(image->config.env_var("LANG"), "C.UTF-8");
  EXPECT_EQ(image->config.env_var("DEP_MODE"), "static");
  EXPECT_EQ(image->config.labels()["team"], "build");
  EXPECT_EQ(image->config.labels()["io.docker-envs.environment.name"], "demo");

  // Flags override the file; -p/-c solve without one.
  auto p = build(
      "-p hello -c ./channel --base scratch --layering per-package -t viaflags "
      "--json -o oci:flags");
  ASSERT_EQ(p.status, 0) << p.err;
  auto pj = nlohmann::json::parse(p.out);
  EXPECT_EQ(pj["layers"].size(), 3u);
  EXPECT_EQ(pj["image"], "viaflags:latest");

  // Specs as arguments, as `solve` and `lock` take them: the same image as -p gives.
  auto positional = build(
      "hello -c ./channel --base scratch --layering per-package -t viaflags --json -o oci:pos");
  ASSERT_EQ(positional.status, 0) << positional.err;
  EXPECT_EQ(nlohmann::json::parse(positional.out)["manifest_digest"], pj["manifest_digest"]);
  // A file, then more specs for it.
  auto both = build("environment.yml hello -c ./channel --json --dry-run");
  ASSERT_EQ(both.status, 0) << both.err;

  auto unsolvable = build("-p 'hello >=9' -c ./channel --base scratch -o oci:never");
  EXPECT_EQ(unsolvable.status, 3);  // unsatisfiable, as `docker-envs solve`
  EXPECT_NE(unsolvable.err.find("cannot be solved"), std::string::npos) << unsolvable.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "never"));
}

TEST_F(BuildCli, ConcurrentBuildsShareOneCache) {
  // Two processes fill one empty cache at once: both succeed with the same image, and the cache
  // holds one blob per layer and no temp files.
  auto r = de::test::run_command(fmt::format(
      "cd {0} && export SOURCE_DATE_EPOCH=1; "
      "{1} build env.lock --base scratch --cache-dir shared --json -o oci:one > one.json & "
      "{1} build env.lock --base scratch --cache-dir shared --json -o oci:two > two.json & "
      "wait %1 && wait %2",
      dir_->path().string(), de::test::cli_path().string()));
  ASSERT_EQ(r.status, 0) << r.err;
  auto one = nlohmann::json::parse(*read_file(dir_->path() / "one.json"));
  auto two = nlohmann::json::parse(*read_file(dir_->path() / "two.json"));
  EXPECT_EQ(one["manifest_digest"], two["manifest_digest"]);
  size_t blobs = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_->path() / "shared/layers")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
    if (e.path().parent_path().filename() == "sha256") ++blobs;
  }
  EXPECT_EQ(blobs, one["layers"].size());
}

TEST_F(BuildCli, SeveralPlatformsMakeOneIndex) {
  // A channel with a `tool` package per platform, each saying which it is.
  for (const std::string subdir : {"linux-64", "linux-aarch64"}) {
    auto dir = dir_->path() / "multi" / subdir;
    fs::create_directories(dir);
    conda::test::PackageSpec spec;
    spec.name = "tool";
    spec.subdir = subdir;
    spec.payload = {conda::test::file("share/tool/arch", subdir)};
    auto r = test::record_for(dir, spec);
    nlohmann::json repodata = {{"info", {{"subdir", subdir}}},
                               {"packages", nlohmann::json::object()},
                               {"packages.conda",
                                {{r.fn,
                                  {{"name", "tool"},
                                   {"version", "1.0"},
                                   {"build", "0"},
                                   {"build_number", 0},
                                   {"depends", nlohmann::json::array()},
                                   {"sha256", r.sha256->hex()},
                                   {"subdir", subdir}}}}}};
    ASSERT_TRUE(write_file_atomic(dir / "repodata.json", repodata.dump()));
  }
  ASSERT_TRUE(write_file_atomic(dir_->path() / "multi.yml", R"(name: multi
channels: [./multi]
dependencies: [tool]
image:
  base: scratch
  platforms: [linux-64, linux-aarch64]
)"));
  auto r = build("multi.yml --json -o oci:multi-out:v1");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][1]["platform"], "linux-aarch64");
  EXPECT_EQ(j["images"][1]["image_platform"], "linux/arm64/v8");
  EXPECT_NE(j["images"][0]["manifest_digest"], j["images"][1]["manifest_digest"]);
  EXPECT_EQ(j["index_digest"], j["manifest_digest"]);
  for (const auto& [arch, subdir] :
       {std::pair<std::string, std::string>{"amd64", "linux-64"}, {"arm64", "linux-aarch64"}}) {
    auto image =
        oci::read_image({oci::Transport::OciLayout, (dir_->path() / "multi-out").string(), "v1"},
                        {.platform = oci::Platform{.os = "linux", .architecture = arch}});
    ASSERT_TRUE(image) << image.error().to_string();
    EXPECT_EQ(image->config.platform().architecture, arch);
    auto tar = image->layers.at(0)->open_tar();
    ASSERT_TRUE(tar);
    oci::TarReader reader(**tar);
    std::string content;
    while (auto e = reader.next()) {
      if (!*e) break;
      if ((*e)->path != "opt/conda/share/tool/arch") continue;
      std::string buf((*e)->size, '\0');
      ASSERT_TRUE(reader.read_data(std::as_writable_bytes(std::span(buf.data(), buf.size()))));
      content = buf;
    }
    EXPECT_EQ(content, subdir);
  }
  auto refused = build("multi.yml -o docker-archive:multi.tar");
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("one platform"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("-o docker://REF"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--platform linux-64"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "multi.tar"));
}

TEST_F(BuildCli, CondaLockInput) {
  auto lock =
      conda::write_conda_lock(records_, {.platform = "linux-64", .channels = {"./channel"}});
  ASSERT_TRUE(lock) << lock.error().to_string();
  ASSERT_TRUE(write_file_atomic(dir_->path() / "conda-lock.yml", *lock));
  auto from_lock = build("conda-lock.yml --base scratch --json -o oci:from-lock");
  ASSERT_EQ(from_lock.status, 0) << from_lock.err;
  auto from_explicit = build("env.lock --base scratch --json -o oci:from-explicit");
  ASSERT_EQ(from_explicit.status, 0) << from_explicit.err;
  auto a = nlohmann::json::parse(from_lock.out), b = nlohmann::json::parse(from_explicit.out);
  EXPECT_EQ(a["packages"], 2);
  // Same packages, same layers (the spec hash label differs with the input file).
  ASSERT_EQ(a["layers"].size(), b["layers"].size());
  for (size_t i = 0; i + 1 < a["layers"].size(); ++i)
    EXPECT_EQ(a["layers"][i]["digest"], b["layers"][i]["digest"]);
  auto wrong = build("conda-lock.yml --base scratch --platform linux-aarch64 -o oci:never");
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.err.find("linux-aarch64"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "never"));
}

TEST_F(BuildCli, BadInputsFailWithoutOutput) {
  // A package that is not there.
  ASSERT_TRUE(
      write_file_atomic(dir_->path() / "bad.lock",
                        "@EXPLICIT\nfile://" + (dir_->path() / "nope-1-0.conda").string() + "\n"));
  auto r = build("bad.lock --base scratch -o out.tar");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nope-1-0.conda"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "out.tar"));

  // Malformed YAML: file and line.
  ASSERT_TRUE(
      write_file_atomic(dir_->path() / "environment.yml", "name: x\nimage:\n  base: [unclosed\n"));
  r = build("--base scratch -o out.tar");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("environment.yml:"), std::string::npos) << r.err;

  // A base image archive that does not exist; a missing env file; a bad user.
  r = build("env.lock --base docker-archive:missing.tar -o out.tar");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing.tar"), std::string::npos) << r.err;
  r = build("nothere.yml -o out.tar");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nothere.yml"), std::string::npos) << r.err;
  r = build("env.lock --base scratch --user alice -o out.tar");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("UID:GID"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "out.tar"));
}

// A base path that is not there is an error, not a Docker Hub pull; image.base is relative to the
// environment file; a name outside the reference grammar becomes a valid one, with a notice.
TEST_F(BuildCli, BaseAndNameMistakes) {
  auto missing = build("env.lock --base missing.tar -o out.tar");
  EXPECT_EQ(missing.status, 1) << missing.err;
  EXPECT_NE(missing.err.find("base image missing.tar: no such file or directory"),
            std::string::npos)
      << missing.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "out.tar"));

  fs::create_directories(dir_->path() / "sub");
  auto base = build("env.lock --base scratch -t base:1 -o sub/base.tar");
  ASSERT_EQ(base.status, 0) << base.err;
  ASSERT_TRUE(write_file_atomic(dir_->path() / "sub/environment.yml",
                                "name: My_Env\nchannels: [../channel]\ndependencies: [hello]\n"
                                "image:\n  base: base.tar\n"));
  auto r = build("sub/environment.yml");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("using 'my_env:latest'"), std::string::npos) << r.err;
  ASSERT_TRUE(fs::exists(dir_->path() / "my_env.tar")) << r.err;
  auto image = oci::read_image({.transport = oci::Transport::DockerArchive,
                                .path = (dir_->path() / "my_env.tar").string(),
                                .selector = "my_env:latest"});
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_GE(image->layers.size(), 2u);  // the base's layer under the environment's
}

}  // namespace
}  // namespace de::build
