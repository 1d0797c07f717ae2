// build::resolve_inputs() and build::build_environment(): the inputs of `docker-envs build` as a
// library call, on packages the test builds (no network, no process environment).
#include "docker_envs/build/inputs.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "build_fixtures.hpp"
#include "docker_envs/build/lock_check.hpp"
#include "docker_envs/build/offline.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/mutate.hpp"
#include "docker_envs/conda/lock_hash.hpp"
#include "docker_envs/conda/package_cache.hpp"

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

// Without -o, each tag has its own archive: -t quick:1 then -t quick:2 keep both.
TEST_F(BuildInputsTest, DefaultDestinationHasTheTag) {
  auto destination = [&](const std::string& name) {
    auto in = resolve_inputs({.env_file = path("env.lock"), .image = {.name = name}});
    EXPECT_TRUE(in) << in.error().to_string();
    return in ? in->destination : std::string();
  };
  EXPECT_EQ(destination("quick:1"), "docker-archive:quick-1.tar:quick:1");
  EXPECT_EQ(destination("quick:2"), "docker-archive:quick-2.tar:quick:2");
  EXPECT_EQ(destination("quick"), "docker-archive:quick.tar:quick:latest");
  EXPECT_EQ(destination("team/app:v1.0"), "docker-archive:app-v1.0.tar:team/app:v1.0");
  EXPECT_EQ(default_destination("app", "2", /*multi=*/true), "oci:app:2");
}

// A string command follows a Dockerfile's rule: text with blanks is the shell form; one word is
// that word; a JSON array is the exec form as given.
TEST_F(BuildInputsTest, CommandStringsWithBlanksAreTheShellForm) {
  auto in = resolve_inputs({.env_file = path("env.lock"),
                            .image = {.entrypoint = "tini", .cmd = "mytool --help"}});
  ASSERT_TRUE(in) << in.error().to_string();
  EXPECT_EQ(in->declared.image.entrypoint, std::vector<std::string>{"tini"});
  EXPECT_EQ(in->declared.image.cmd,
            (std::vector<std::string>{"/bin/sh", "-c", "mytool --help"}));
  // With an entrypoint, the shell words become its arguments: said in a warning.
  ASSERT_EQ(in->warnings.size(), 1u);
  EXPECT_NE(in->warnings[0].find("image.cmd 'mytool --help' is a shell form"), std::string::npos)
      << in->warnings[0];
  auto exec = resolve_inputs(
      {.env_file = path("env.lock"), .image = {.cmd = R"(["mytool","--help"])"}});
  ASSERT_TRUE(exec) << exec.error().to_string();
  EXPECT_EQ(exec->declared.image.cmd, (std::vector<std::string>{"mytool", "--help"}));
  EXPECT_TRUE(exec->warnings.empty());
  auto alone = resolve_inputs({.env_file = path("env.lock"), .image = {.cmd = "mytool --help"}});
  ASSERT_TRUE(alone);
  EXPECT_TRUE(alone->warnings.empty());  // no entrypoint: what a Dockerfile's CMD would do
}

TEST_F(BuildInputsTest, UsageProblemsAreRefusedNamingTheFlagOrFile) {
  auto refused = [&](const InputOptions& o, const std::string& expected) {
    auto in = resolve_inputs(o);
    ASSERT_FALSE(in) << expected;
    EXPECT_EQ(in.error().code(), Code::InvalidArgument) << in.error().to_string();
    EXPECT_NE(in.error().to_string().find(expected), std::string::npos) << in.error().to_string();
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
  refused({.specs = {"hello"},
           .image = {.platforms = {"linux-64", "linux-aarch64"}},
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
  auto several =
      resolve_inputs({.specs = {"hello"}, .image = {.platforms = {"linux-64", "linux-aarch64"}}});
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
  test::RecordingReporter seen;
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
      .registry = []() -> Result<registry::RegistryOptions> {
        return fail(Code::Internal, "no registry is needed");
      },
      .cache_root = path("cache"),
      .parallelism = 2,
      .source_date_epoch = 1700000000,
      .reporter = &seen,
  };
  auto out = build_environment(options);
  ASSERT_TRUE(out) << out.error().to_string();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].file, "");
  EXPECT_EQ(asked[0].specs, std::vector<std::string>{"hello"});
  EXPECT_EQ(asked[0].channels, std::vector<std::string>{"./channel"});
  EXPECT_EQ(asked[0].platform, "linux-64");
  using K = progress::Kind;
  ASSERT_EQ(seen.of(K::StageStart, "solve").size(), 1u);
  EXPECT_EQ(seen.of(K::StageStart, "solve")[0].detail,
            "1 spec(s) for linux-64 from 1 channel(s)");
  ASSERT_EQ(seen.of(K::StageEnd, "solve").size(), 1u);
  EXPECT_EQ(seen.of(K::StageEnd, "solve")[0].detail.find(" package(s) for linux-64"), 1u);
  ASSERT_EQ(seen.of(K::Note).size(), 1u);
  EXPECT_EQ(seen.of(K::Note)[0].detail, "base image scratch for linux-64");
  std::vector<std::string> stages;
  for (const auto& e : seen.of(K::StageStart)) stages.push_back(e.stage);
  EXPECT_EQ(stages, (std::vector<std::string>{"solve", "fetch", "plan", "layers", "write"}));
  EXPECT_EQ(seen.of(K::StageEnd, "write").at(0).detail,
            "manifest " + out->manifest_digest.to_string());
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


// environment.yml + --lock: the image section, name and variables from the file, the packages from
// the lock; docker-envs' own lock hash is compared with the request made from the file.
TEST_F(BuildInputsTest, LockGivesThePackagesAndIsCheckedAgainstTheEnvFile) {
  ASSERT_TRUE(write_file_atomic(path("environment.yml"),
                                "name: locked\nchannels: [./channel]\ndependencies: [hello]\n"
                                "variables: {V: x}\nimage: {base: scratch, env: [E=1]}\n"));
  conda::EnvironmentSolveRequest request;
  request.channels = {path("channel")};
  request.specs = {"hello"};
  request.platform = "linux-64";
  auto lock = conda::write_conda_lock(
      records_, {.platform = "linux-64",
                 .channels = {path("channel")},
                 .content_hash = conda::solve_request_hash(request)});
  ASSERT_TRUE(lock) << lock.error().to_string();
  ASSERT_TRUE(write_file_atomic(path("conda-lock.yml"), *lock));

  auto in = resolve_inputs({.env_file = path("environment.yml"), .lock_file = path("conda-lock.yml")});
  ASSERT_TRUE(in) << in.error().to_string();
  EXPECT_FALSE(in->solve);
  EXPECT_TRUE(in->lock_text);
  EXPECT_EQ(in->declared.name, "locked");
  EXPECT_EQ(in->declared.variables, (std::vector<NameValue>{{"V", "x"}}));
  EXPECT_EQ(in->image_name, "locked");
  EXPECT_EQ(in->base, "scratch");

  test::RecordingReporter seen;
  EnvironmentBuildOptions options{
      .inputs = {.env_file = path("environment.yml"),
                 .output = "oci:" + path("layout"),
                 .lock_file = path("conda-lock.yml"),
                 .locked = true},
      .solve_request = [&](const SolveInputs& s) -> Result<SolveSetup> {
        EXPECT_EQ(s.file, path("environment.yml"));
        SolveSetup setup;
        setup.request = request;
        setup.request.platform = s.platform;
        return setup;
      },
      .cache_root = path("cache"),
      .reporter = &seen,
  };
  auto out = build_environment(options);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(out->results.at(0).package_count, 2u);
  auto notes = seen.of(progress::Kind::Note, "lock");
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].detail.find("matches"), std::string::npos) << notes[0].detail;
  auto image = oci::read_image({oci::Transport::OciLayout, path("layout"), ""});
  ASSERT_TRUE(image) << image.error().to_string();
  auto env = image->config.env();
  EXPECT_NE(std::find(env.begin(), env.end(), "E=1"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "V=x"), env.end());

  // The file asks for something else now: stale; --locked refuses it, naming both files.
  request.specs = {"hello", "dep"};
  options.inputs.output = "oci:" + path("stale");
  auto stale = build_environment(options);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), Code::InvalidArgument);
  EXPECT_NE(stale.error().to_string().find("conda-lock.yml is stale"), std::string::npos)
      << stale.error().to_string();
  EXPECT_NE(stale.error().to_string().find("environment.yml"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("stale")));
  options.inputs.locked = false;
  EXPECT_TRUE(build_environment(options));  // a warning only
}

TEST_F(BuildInputsTest, LockHashesThatCannotBeRecomputedAreNotGuessed) {
  int asked = 0;
  auto request = [&]() -> Result<std::string> {
    ++asked;
    return conda::solve_request_hash(conda::EnvironmentSolveRequest{});
  };
  auto lock = conda::write_conda_lock(records_, {.platform = "linux-64", .content_hash = "abc"});
  ASSERT_TRUE(lock);
  std::string theirs = "# generated by conda-lock\n" + lock->substr(lock->find('\n') + 1);
  auto check = check_lock(theirs, "conda-lock.yml", "environment.yml", "linux-64", request);
  ASSERT_TRUE(check) << check.error().to_string();
  EXPECT_EQ(check->state, LockCheck::State::Unverifiable);
  EXPECT_NE(check->message.find("conda-lock's own"), std::string::npos) << check->message;
  auto text = read_file(path("env.lock"));
  ASSERT_TRUE(text);
  check = check_lock(*text, "env.lock", "environment.yml", "linux-64", request);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->state, LockCheck::State::Unverifiable);
  EXPECT_NE(check->message.find("records no hash"), std::string::npos) << check->message;
  EXPECT_EQ(asked, 0);
  // Ours, with a different hash: stale.
  check = check_lock(*lock, "conda-lock.yml", "environment.yml", "linux-64", request);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->state, LockCheck::State::Stale);
  EXPECT_EQ(asked, 1);
}

TEST_F(BuildInputsTest, LockUsageProblemsAreRefused) {
  auto self = resolve_inputs({.env_file = path("env.lock"), .lock_file = path("env.lock")});
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().to_string().find("is a lock itself"), std::string::npos);
  auto locked = resolve_inputs({.env_file = path("env.lock"), .locked = true});
  ASSERT_FALSE(locked);
  EXPECT_NE(locked.error().to_string().find("--locked needs --lock"), std::string::npos);
  auto prefix = resolve_inputs({.env_file = path("env.lock"), .from_prefix = path("p")});
  ASSERT_FALSE(prefix);
  EXPECT_NE(prefix.error().to_string().find("--from-prefix"), std::string::npos);
}

TEST_F(BuildInputsTest, OfflineRefusesTheNetworkAndListsWhatIsMissing) {
  auto registry_base = resolve_inputs({.env_file = path("env.lock"),
                                       .image = {.base = "debian:bookworm-slim"},
                                       .offline = true});
  ASSERT_FALSE(registry_base);
  EXPECT_NE(registry_base.error().to_string().find("--offline: the base image"),
            std::string::npos);
  auto registry_dest = resolve_inputs({.env_file = path("env.lock"),
                                       .image = {.base = "scratch"},
                                       .output = "docker://127.0.0.1:1/x:1",
                                       .offline = true});
  ASSERT_FALSE(registry_dest);
  EXPECT_NE(registry_dest.error().to_string().find("--offline: the destination"),
            std::string::npos);

  auto fetcher = make_offline_fetcher(std::make_unique<conda::FileFetcher>());
  auto refused = fetcher->open("https://example.invalid/x.conda");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::Network);
  // file:// packages are at hand; remote ones are missing until the cache has them.
  EXPECT_TRUE(missing_packages(records_, path("cache/pkgs"), *fetcher).empty());
  auto remote = records_;
  for (auto& r : remote) r.url = "https://example.invalid/linux-64/" + r.fn;
  auto missing = missing_packages(remote, path("cache/pkgs"), *fetcher);
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_NE(missing[0].find(remote[0].dist_name()), std::string::npos);
  auto status = check_offline(remote, path("cache/pkgs"), *fetcher);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().to_string().find(remote[1].dist_name()), std::string::npos);
  // Once extracted into the cache (keyed by sha256), they are found without a download.
  conda::PackageCache cache(path("cache/pkgs"));
  for (const auto& r : records_) ASSERT_TRUE(cache.fetch(r.url, {.sha256 = r.sha256}, *fetcher));
  EXPECT_TRUE(missing_packages(remote, path("cache/pkgs"), *fetcher).empty());
}

TEST_F(BuildInputsTest, DryRunPlansWithoutWriting) {
  EnvironmentBuildOptions options{
      .inputs = {.env_file = path("env.lock"),
                 .image = {.base = "scratch"},
                 .output = "oci:" + path("layout")},
      .cache_root = path("cache"),
  };
  auto plan = plan_build(options);
  ASSERT_TRUE(plan) << plan.error().to_string();
  ASSERT_EQ(plan->platforms.size(), 1u);
  const auto& p = plan->platforms[0];
  ASSERT_EQ(p.packages.size(), 2u);
  EXPECT_EQ(p.packages[0].sha256, records_[0].sha256);
  EXPECT_EQ(p.cached, (std::vector<bool>{true, true}));  // file:// packages are local
  ASSERT_EQ(p.layers.size(), 3u);
  EXPECT_EQ(p.layers[0].packages, std::vector<std::string>{records_[0].dist_name()});
  EXPECT_TRUE(p.layers[2].packages.empty());
  EXPECT_FALSE(fs::exists(path("layout")));
  EXPECT_FALSE(fs::exists(path("cache")));
}

// A local multi-platform base (an OCI layout holding an index): each platform built gets that
// platform's image, not the index's default one (issue 13 item 13).
TEST(ReadBaseImage, LocalIndexGivesThePlatformBeingBuilt) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::vector<oci::Image> images;
  for (const std::string arch : {"amd64", "arm64"}) {
    oci::Image image = oci::scratch_image();
    image.config.set_platform(oci::Platform{.os = "linux", .architecture = arch});
    oci::LayerBuilder b({});
    b.add_contents("arch.txt", arch);
    auto layer = std::move(b).build();
    ASSERT_TRUE(layer);
    images.push_back(oci::append_layer(std::move(image), *layer, {}));
  }
  fs::path base = dir->path() / "base";
  ASSERT_TRUE(oci::write_image_index(images, {oci::Transport::OciLayout, base.string(), ""}));
  for (const std::string arch : {"amd64", "arm64"}) {
    auto image = read_base_image("oci:" + base.string(),
                                 oci::Platform{.os = "linux", .architecture = arch}, {});
    ASSERT_TRUE(image) << image.error().to_string();
    EXPECT_EQ(image->config.platform().architecture, arch);
  }
  auto missing = read_base_image("oci:" + base.string(),
                                 oci::Platform{.os = "linux", .architecture = "ppc64le"}, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().to_string().find("ppc64le"), std::string::npos);
}

}  // namespace
}  // namespace de::build
