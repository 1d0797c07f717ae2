// build::resolve_inputs() and build::build_environment(): the inputs of `docker-envs build` as a
// library call, on packages the test builds (no network, no process environment).
#include "docker_envs/build/inputs.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "build_fixtures.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/oci/transport.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;

class BuildInputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    // A channel (linux-64/repodata.json) holding dep and hello, and an @EXPLICIT file of both.
    fs::path subdir = dir_->path() / "channel/linux-64";
    fs::create_directories(subdir);
    nlohmann::json packages = nlohmann::json::object();
    std::string lock = "# platform: linux-64\n@EXPLICIT\n";
    for (const auto& spec : {test::dep_spec(), test::hello_spec()}) {
      auto r = test::record_for(subdir, spec);
      packages[r.fn] = {{"name", r.name},
                        {"version", r.version},
                        {"build", r.build},
                        {"build_number", 0},
                        {"depends", r.name == "hello" ? nlohmann::json{"dep"} : nlohmann::json{}},
                        {"sha256", r.sha256->hex()},
                        {"subdir", "linux-64"}};
      lock += r.url + "#sha256:" + r.sha256->hex() + "\n";
      records_.push_back(r);
    }
    ASSERT_TRUE(write_file_atomic(subdir / "repodata.json",
                                  nlohmann::json{{"info", {{"subdir", "linux-64"}}},
                                                 {"packages", nlohmann::json::object()},
                                                 {"packages.conda", packages}}
                                      .dump()));
    ASSERT_TRUE(write_file_atomic(path("env.lock"), lock));
  }

  std::string path(const std::string& name) const { return (dir_->path() / name).string(); }

  std::optional<TempDir> dir_;
  std::vector<conda::PackageRecord> records_;  // dep, hello
};

TEST_F(BuildInputsTest, ExplicitFileGivesItsPackagesAndTheDefaults) {
  auto in = resolve_inputs({.env_file = path("env.lock")});
  ASSERT_TRUE(in) << in.error().to_string();
  EXPECT_FALSE(in->solve);
  EXPECT_FALSE(in->lock_text);
  ASSERT_EQ(in->packages.size(), 2u);
  EXPECT_EQ(in->packages[1].name, "hello");
  EXPECT_EQ(in->platforms, std::vector<std::string>{"linux-64"});
  EXPECT_EQ(in->image_name, "environment");
  EXPECT_EQ(in->image_tag, "latest");
  EXPECT_EQ(in->destination, "docker-archive:environment.tar:environment:latest");
  EXPECT_EQ(in->compression, Compression::None);  // docker-archive layers are plain tars
  EXPECT_EQ(in->base, "debian:bookworm-slim");
  EXPECT_FALSE(in->owner);
  EXPECT_EQ(in->spec_hash, Digest::of(*read_file(path("env.lock"))));
}

TEST_F(BuildInputsTest, OverridesApplyToTheImageSpec) {
  auto in = resolve_inputs({.env_file = path("env.lock"),
                            .image = {.name = "host:5000/team/app:2",
                                      .base = "scratch",
                                      .user = "1000:100",
                                      .entrypoint = R"(["python","-m","app"])",
                                      .cmd = "serve",
                                      .layering = "single",
                                      .env = {"A=1", "B=x=y"},
                                      .labels = {"team=build"},
                                      .max_layers = 7},
                            .output = "oci:" + path("out"),
                            .compression = "zstd"});
  ASSERT_TRUE(in) << in.error().to_string();
  const ImageSpec& spec = in->declared.image;
  EXPECT_EQ(in->image_name, "host:5000/team/app");  // the port's ':' is not a tag
  EXPECT_EQ(in->image_tag, "2");
  EXPECT_EQ(in->base, "scratch");
  ASSERT_TRUE(in->owner);
  EXPECT_EQ(in->owner->uid, 1000);
  EXPECT_EQ(in->owner->gid, 100);
  EXPECT_EQ(spec.entrypoint, (std::vector<std::string>{"python", "-m", "app"}));
  EXPECT_EQ(spec.cmd, std::vector<std::string>{"serve"});
  EXPECT_EQ(spec.strategy, LayerStrategy::Single);
  EXPECT_EQ(spec.max_layers, 7u);
  EXPECT_EQ(spec.env, (std::vector<NameValue>{{"A", "1"}, {"B", "x=y"}}));
  EXPECT_EQ(spec.labels, (std::vector<NameValue>{{"team", "build"}}));
  EXPECT_EQ(in->compression, Compression::Zstd);  // an OCI layout keeps the asked compression

  // The default destination of a named image; a registry destination keeps gzip.
  auto named = resolve_inputs({.env_file = path("env.lock"), .image = {.name = "team/app"}});
  ASSERT_TRUE(named) << named.error().to_string();
  EXPECT_EQ(named->destination, "docker-archive:app.tar:team/app:latest");
  auto pushed = resolve_inputs({.env_file = path("env.lock"), .output = "docker://host:5000/a:1"});
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  EXPECT_EQ(pushed->compression, Compression::Gzip);
}

TEST_F(BuildInputsTest, UsageProblemsAreRefusedNamingTheFlagOrFile) {
  auto refused = [&](const InputOptions& o, const std::string& expected) {
    auto in = resolve_inputs(o);
    ASSERT_FALSE(in) << expected;
    EXPECT_EQ(in.error().code(), Code::InvalidArgument) << in.error().to_string();
    EXPECT_NE(in.error().to_string().find(expected), std::string::npos)
        << in.error().to_string();
  };
  const std::string lock = path("env.lock");
  refused({.env_file = lock, .specs = {"hello"}}, "is a lock");
  refused({.env_file = lock, .channels = {"x"}}, "is a lock");
  refused({.env_file = lock, .image = {.entrypoint = "[1]"}}, "--entrypoint '[1]'");
  refused({.env_file = lock, .image = {.cmd = "[unclosed"}}, "--cmd");
  refused({.env_file = lock, .image = {.env = {"=x"}}}, "--env '=x' is not NAME=VALUE");
  refused({.env_file = lock, .image = {.labels = {"nolabel"}}}, "--label");
  refused({.env_file = lock, .image = {.platforms = {"linux-aarch64"}}},
          "is a lock for linux-64, not linux-aarch64");
  refused({.env_file = lock, .image = {.platforms = {"win-64"}}}, "win-64");
  refused({.env_file = lock, .output = "scratch"}, "scratch can only be a source");
  refused({.env_file = lock, .image = {.user = "alice"}}, "UID:GID");
  // Several platforms cannot share a docker-archive.
  refused({.specs = {"hello"}, .image = {.platforms = {"linux-64", "linux-aarch64"}},
           .output = "docker-archive:" + path("x.tar")},
          "a docker-archive holds one platform per tag");

  // -c adds to an environment.yml's channels; a file that is not there is named.
  ASSERT_TRUE(write_file_atomic(path("environment.yml"), "name: x\ndependencies: [hello]\n"));
  auto ok = resolve_inputs({.env_file = path("environment.yml"), .channels = {"c"}});
  EXPECT_TRUE(ok) << ok.error().to_string();
  auto missing = resolve_inputs({.env_file = path("nothere.yml")});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().to_string().find("nothere.yml"), std::string::npos);
}

TEST_F(BuildInputsTest, SpecsAndChannelsAreSolvedAndHashed) {
  auto a = resolve_inputs({.specs = {"hello"}, .channels = {"./channel"}});
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_TRUE(a->solve);
  EXPECT_EQ(a->env_file, "");  // specs without a file: no ./environment.yml is read
  EXPECT_EQ(a->solve_file, "");
  EXPECT_EQ(a->spec_hash, Digest::of("\n-p hello\n-c ./channel"));
  auto b = resolve_inputs({.specs = {"hello 1.0"}, .channels = {"./channel"}});
  ASSERT_TRUE(b);
  EXPECT_NE(a->spec_hash, b->spec_hash);
  auto several = resolve_inputs({.specs = {"hello"},
                                 .image = {.platforms = {"linux-64", "linux-aarch64"}}});
  ASSERT_TRUE(several) << several.error().to_string();
  EXPECT_TRUE(several->multi());
  EXPECT_EQ(several->destination, "oci:environment:latest");
}

TEST_F(BuildInputsTest, CondaLockIsReadPerPlatform) {
  auto text = conda::write_conda_lock(records_, {.platform = "linux-64", .channels = {"c"}});
  ASSERT_TRUE(text) << text.error().to_string();
  ASSERT_TRUE(write_file_atomic(path("conda-lock.yml"), *text));
  auto in = resolve_inputs({.env_file = path("conda-lock.yml")});
  ASSERT_TRUE(in) << in.error().to_string();
  EXPECT_TRUE(in->lock_text);
  EXPECT_TRUE(in->packages.empty());
  EXPECT_EQ(in->platforms, std::vector<std::string>{"linux-64"});
}

TEST_F(BuildInputsTest, BuildEnvironmentSolvesPerPlatformAndWrites) {
  std::vector<SolveInputs> asked;
  std::vector<std::string> said;
  EnvironmentBuildOptions options{
      .inputs = {.specs = {"hello"},
                 .channels = {"./channel"},
                 .image = {.name = "lib:1", .base = "scratch"},
                 .output = "oci:" + path("layout")},
      .solve_request = [&](const SolveInputs& s) -> Result<SolveSetup> {
        asked.push_back(s);
        SolveSetup setup;
        setup.request.channels = {path("channel")};
        setup.request.specs = s.specs;
        setup.request.platform = s.platform;
        return setup;
      },
      .registry = [] () -> Result<registry::RegistryOptions> {
        return fail(Code::Internal, "no registry is needed");
      },
      .cache_root = path("cache"),
      .parallelism = 2,
      .source_date_epoch = 1700000000,
      .status = [&](const std::string& line) { said.push_back(line); },
  };
  auto out = build_environment(options);
  ASSERT_TRUE(out) << out.error().to_string();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].file, "");
  EXPECT_EQ(asked[0].specs, std::vector<std::string>{"hello"});
  EXPECT_EQ(asked[0].channels, std::vector<std::string>{"./channel"});
  EXPECT_EQ(asked[0].platform, "linux-64");
  ASSERT_EQ(said.size(), 2u);
  EXPECT_EQ(said[0], "solving 1 spec(s) for linux-64 from 1 channel(s)");
  EXPECT_EQ(said[1], "base image scratch for linux-64");
  ASSERT_EQ(out->results.size(), 1u);
  EXPECT_EQ(out->results[0].package_count, 2u);
  ASSERT_EQ(out->manifests.size(), 1u);
  EXPECT_EQ(out->manifest_digest, out->manifests[0]);
  ASSERT_EQ(out->config_digests.size(), 1u);
  EXPECT_FALSE(out->pushed);
  auto image = oci::read_image({oci::Transport::OciLayout, path("layout"), ""});
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(Digest::of(image->config_bytes()), out->config_digests[0]);
  EXPECT_EQ(image->config.labels()["io.docker-envs.environment.name"], "lib");

  // The same inputs give the same image; an unsolvable spec is Unsatisfiable and writes nothing.
  options.inputs.output = "oci:" + path("again");
  auto again = build_environment(options);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->manifest_digest, out->manifest_digest);
  options.inputs.specs = {"hello >=9"};
  options.inputs.output = "oci:" + path("never");
  auto unsolvable = build_environment(options);
  ASSERT_FALSE(unsolvable);
  EXPECT_EQ(unsolvable.error().code(), Code::Unsatisfiable);
  EXPECT_FALSE(fs::exists(path("never")));
}

TEST_F(BuildInputsTest, ExplicitFileNeedsNoSolveAndABadBaseIsNamed) {
  EnvironmentBuildOptions options{
      .inputs = {.env_file = path("env.lock"),
                 .image = {.base = "docker-archive:" + path("missing.tar")},
                 .output = "oci:" + path("layout")},
      .cache_root = path("cache"),
  };
  auto out = build_environment(options);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().to_string().find("base image docker-archive:"), std::string::npos)
      << out.error().to_string();
  EXPECT_FALSE(fs::exists(path("layout")));
  options.inputs.image.base = "scratch";
  out = build_environment(options);  // no solve_request: none is needed
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(out->results.at(0).package_count, 2u);
}

}  // namespace
}  // namespace de::build
