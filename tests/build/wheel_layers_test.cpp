// PyPI wheels in a build (BuildRequest::wheels, a lock's pip entries): their own layers after the
// conda ones, keyed so that changing one wheel rebuilds one layer, never over a conda file.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "build_fixtures.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/build/inputs.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/tar.hpp"
#include "pypi/wheel_test_util.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
namespace ct = de::conda::test;

ct::PackageSpec python_spec() {
  ct::PackageSpec spec;
  spec.name = "python";
  spec.version = "3.11.4";
  spec.payload = {ct::file("bin/python3.11", "ELF python\n", 0755),
                  ct::file("lib/python3.11/os.py", "# os\n")};
  return spec;
}

pypi::test::TestWheel wheel(std::string name, std::string version, std::string body) {
  pypi::test::TestWheel w;
  w.name = std::move(name);
  w.version = std::move(version);
  w.files = {{w.name + "/__init__.py", std::move(body)}};
  w.entry_points = "[console_scripts]\n" + w.name + "-cli = " + w.name + ":main\n";
  return w;
}

class WheelLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    fs::create_directories(dir_->path() / "channel");
    python_ = test::record_for(dir_->path() / "channel", python_spec());
    dep_ = test::record_for(dir_->path() / "channel", test::dep_spec());
  }

  WheelToInstall to_install(const pypi::test::TestWheel& w, const std::string& sub = "wheels") {
    fs::path dir = dir_->path() / sub;
    fs::create_directories(dir);
    auto path = w.write(dir);
    auto bytes = read_file(path);
    EXPECT_TRUE(bytes);
    return {.name = w.name,
            .version = w.version,
            .url = "file://" + path.string(),
            .sha256 = Digest::of(*bytes)};
  }

  BuildRequest request(std::vector<WheelToInstall> wheels) {
    return BuildRequest{.packages = {python_, dep_},
                        .wheels = std::move(wheels),
                        .base = oci::scratch_image(),
                        .created_by = "wheel_layers_test",
                        .strategy = LayerStrategy::PerPackage,
                        .package_cache = dir_->path() / "cache/pkgs",
                        .layer_cache = dir_->path() / "cache/layers",
                        .fetcher = &fetcher_};
  }

  std::optional<TempDir> dir_;
  conda::FileFetcher fetcher_;
  conda::PackageRecord python_, dep_;
};

std::map<std::string, std::string> layer_files(const oci::LayerPtr& layer) {
  std::map<std::string, std::string> out;
  auto tar = layer->open_tar();
  EXPECT_TRUE(tar);
  if (!tar) return out;
  oci::TarReader reader(**tar);
  while (auto e = reader.next()) {
    if (!*e) break;
    if ((*e)->type != oci::EntryType::File) continue;
    StringWriter data;
    std::byte buf[4096];
    for (;;) {
      auto n = reader.read_data(buf);
      if (!n || *n == 0) break;
      EXPECT_TRUE(data.write(std::span<const std::byte>(buf, *n)));
    }
    out[(*e)->path] = data.take();
  }
  return out;
}

TEST_F(WheelLayers, EachWheelIsALayerAfterTheCondaOnes) {
  auto built = build_image(request({to_install(wheel("alpha", "1.0", "A = 1\n")),
                                    to_install(wheel("beta", "2.0", "B = 2\n"))}));
  ASSERT_TRUE(built) << built.error().to_string();
  EXPECT_EQ(built->wheel_count, 2u);
  ASSERT_EQ(built->layers.size(), 5u);  // python, dep, alpha, beta, environment files
  EXPECT_EQ(built->layers[0].packages, std::vector<std::string>{"python-3.11.4-0"});
  EXPECT_EQ(built->layers[2].label, "pypi alpha-1.0");
  EXPECT_EQ(built->layers[3].label, "pypi beta-2.0");
  auto files = layer_files(built->image.layers[2]);
  const std::string sp = "opt/conda/lib/python3.11/site-packages/";
  EXPECT_EQ(files[sp + "alpha/__init__.py"], "A = 1\n");
  EXPECT_EQ(files[sp + "alpha-1.0.dist-info/INSTALLER"], "docker-envs\n");
  EXPECT_TRUE(files.contains(sp + "alpha-1.0.dist-info/RECORD"));
  EXPECT_FALSE(files.contains(sp + "alpha-1.0.dist-info/direct_url.json"));
  EXPECT_TRUE(files["opt/conda/bin/alpha-cli"].starts_with("#!/opt/conda/bin/python\n"));
  EXPECT_FALSE(files.contains(sp + "beta/__init__.py"));
}

TEST_F(WheelLayers, ChangingOneWheelRebuildsOneLayer) {
  auto first = build_image(request({to_install(wheel("alpha", "1.0", "A = 1\n")),
                                    to_install(wheel("beta", "2.0", "B = 2\n"))}));
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = build_image(request({to_install(wheel("alpha", "1.0", "A = 1\n")),
                                     to_install(wheel("beta", "2.0", "B = 3\n"), "other")}));
  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_EQ(second->layers.size(), 5u);
  std::vector<bool> reused;
  for (const auto& l : second->layers) reused.push_back(l.reused);
  EXPECT_EQ(reused, (std::vector<bool>{true, true, true, false, true}));
  EXPECT_NE(first->layers[3].key, second->layers[3].key);
  EXPECT_EQ(first->layers[2].blob.digest, second->layers[2].blob.digest);

  // Another prefix changes every wheel layer (scripts and paths name it).
  auto moved = request({to_install(wheel("alpha", "1.0", "A = 1\n"))});
  moved.prefix = "/srv/env";
  auto third = build_image(moved);
  ASSERT_TRUE(third) << third.error().to_string();
  EXPECT_FALSE(third->layers[2].reused);
}

TEST_F(WheelLayers, TheWheelsAreAStageOfTheReporterAsTheCondaPackagesAre) {
  auto req = request({to_install(wheel("alpha", "1.0", "A = 1\n")),
                      to_install(wheel("beta", "2.0", "B = 2\n"))});
  test::RecordingReporter seen;
  req.reporter = &seen;
  auto built = build_image(req);
  ASSERT_TRUE(built) << built.error().to_string();
  using K = progress::Kind;
  auto starts = seen.of(K::StageStart, "wheels");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].total, 2u);
  EXPECT_EQ(starts[0].detail, "2 pypi package(s)");
  // file:// wheels are read in place: each a task ended as "local", named by its file.
  std::vector<std::string> tasks;
  for (const auto& e : seen.of(K::TaskEnd, "wheels")) {
    EXPECT_EQ(e.detail, "local") << e.task;
    tasks.push_back(e.task);
  }
  std::sort(tasks.begin(), tasks.end());
  EXPECT_EQ(tasks, (std::vector<std::string>{"alpha-1.0-py3-none-any.whl",
                                             "beta-2.0-py3-none-any.whl"}));
  auto ends = seen.of(K::StageEnd, "wheels");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].detail,
            "2 pypi package(s): 0 downloaded (0 B), 0 from the package cache, 2 local");
  // In order: after the conda packages are planned, before the layers (which include theirs).
  std::vector<std::string> order;
  for (const auto& e : seen.events)
    if (e.kind == K::StageStart) order.push_back(e.stage);
  EXPECT_EQ(order, (std::vector<std::string>{"fetch", "plan", "wheels", "layers"}));
  std::vector<std::string> layers;
  for (const auto& e : seen.of(K::TaskEnd, "layers")) layers.push_back(e.task);
  EXPECT_NE(std::find(layers.begin(), layers.end(), "pypi alpha-1.0"), layers.end());

  // Built again, the whole-image memo gone: the wheels' tasks are there again (nothing to
  // download, still local).
  std::filesystem::remove_all(req.layer_cache / "images");
  test::RecordingReporter again;
  req.reporter = &again;
  ASSERT_TRUE(build_image(req));
  EXPECT_EQ(again.of(K::TaskEnd, "wheels").size(), 2u);
  // With the memo: no wheel is fetched or planned at all.
  test::RecordingReporter memo;
  req.reporter = &memo;
  auto hit = build_image(req);
  ASSERT_TRUE(hit) << hit.error().to_string();
  EXPECT_TRUE(hit->image_memo.hit);
  EXPECT_TRUE(memo.of(K::StageStart, "wheels").empty());
}

TEST_F(WheelLayers, SourceDistributionsAreRefusedByName) {
  auto w = to_install(wheel("alpha", "1.0", "A = 1\n"));
  w.url = "https://example.org/alpha-1.0.tar.gz";
  auto built = build_image(request({w}));
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error().code(), Code::Unsupported);
  EXPECT_NE(built.error().to_string().find("pypi package alpha 1.0 is a source distribution"),
            std::string::npos)
      << built.error().to_string();
}

TEST_F(WheelLayers, HashMismatchAndMissingPythonAreRefused) {
  auto w = to_install(wheel("alpha", "1.0", "A = 1\n"));
  w.sha256 = Digest::of("something else");
  auto built = build_image(request({w}));
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().to_string().find("sha256"), std::string::npos)
      << built.error().to_string();

  auto no_python = request({to_install(wheel("alpha", "1.0", "A = 1\n"))});
  no_python.packages = {dep_};
  built = build_image(no_python);
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().to_string().find("need a python in the environment"), std::string::npos)
      << built.error().to_string();
}

TEST_F(WheelLayers, AWheelNeverReplacesACondaFile) {
  pypi::test::TestWheel w = wheel("alpha", "1.0", "A = 1\n");
  w.files.push_back({"alpha-1.0.data/data/share/dep.txt", "hijacked\n"});
  auto built = build_image(request({to_install(w)}));
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().to_string().find(
                "pypi package alpha 1.0 would replace /opt/conda/share/dep.txt, which the conda "
                "package dep-1.0-0 installs"),
            std::string::npos)
      << built.error().to_string();

  pypi::test::TestWheel a = wheel("alpha", "1.0", "A = 1\n");
  pypi::test::TestWheel b = wheel("beta", "1.0", "B = 1\n");
  b.entry_points = "[console_scripts]\nalpha-cli = beta:main\n";
  built = build_image(request({to_install(a), to_install(b)}));
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().to_string().find(
                "pypi package beta 1.0 would replace /opt/conda/bin/alpha-cli, which pypi "
                "package alpha 1.0 installs"),
            std::string::npos)
      << built.error().to_string();
}

TEST(WheelFromLock, WheelsOnlyWithAHashAndPathsGetADirectUrl) {
  Digest sha = Digest::of("x");
  conda::PypiLockEntry url{.name = "idna",
                           .version = "3.7",
                           .location = "https://files.example/idna-3.7-py3-none-any.whl",
                           .url = "https://files.example/idna-3.7-py3-none-any.whl",
                           .sha256 = sha,
                           .line = 12};
  auto w = wheel_from_lock(url, "pixi.lock");
  ASSERT_TRUE(w) << w.error().to_string();
  EXPECT_EQ(w->url, url.url);
  EXPECT_EQ(w->sha256, sha);
  EXPECT_FALSE(w->direct_url);
  EXPECT_FALSE(w->requested);

  conda::PypiLockEntry path = url;
  path.location = "./links/idna-3.7-py3-none-any.whl";
  path.url = "file:///lock/links/idna-3.7-py3-none-any.whl";
  w = wheel_from_lock(path, "pixi.lock");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->direct_url);
  EXPECT_EQ(w->url, path.url);

  conda::PypiLockEntry sdist = url;
  sdist.location = "https://files.example/idna-3.7.tar.gz";
  w = wheel_from_lock(sdist, "pixi.lock");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), Code::Unsupported);
  EXPECT_NE(w.error().message().find("pixi.lock:12: pypi package idna is a source distribution"),
            std::string::npos)
      << w.error().message();

  conda::PypiLockEntry unhashed = url;
  unhashed.sha256.reset();
  w = wheel_from_lock(unhashed, "pixi.lock");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message().find("pixi.lock:12: pypi package idna has no sha256"),
            std::string::npos)
      << w.error().message();
}

}  // namespace
}  // namespace de::build
