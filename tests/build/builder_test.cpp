// The pipeline end to end on packages the tests build: images read back with our own readers.
#include "docker_envs/build/builder.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

#include "build_fixtures.hpp"
#include "docker_envs/build/layer_cache.hpp"
#include "docker_envs/oci/filesystem.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    fs::create_directories(dir_->path() / "channel");
    dep_ = test::record_for(dir_->path() / "channel", test::dep_spec());
    hello_ = test::record_for(dir_->path() / "channel", test::hello_spec());
  }

  BuildRequest request(std::vector<conda::PackageRecord> packages, const std::string& cache) {
    return BuildRequest{.packages = std::move(packages),
                        .base = oci::scratch_image(),
                        .environment_name = "demo",
                        .created_by = "builder_test",
                        .strategy = LayerStrategy::PerPackage,
                        .source_date_epoch = 1700000000,
                        .spec_hash = "sha256:test",
                        .package_cache = dir_->path() / cache / "pkgs",
                        .layer_cache = dir_->path() / cache / "layers",
                        .fetcher = &fetcher_};
  }

  Result<oci::WriteResult> write(const BuildResult& built, const std::string& name) {
    return oci::write_image(built.image,
                            {oci::Transport::OciLayout, (dir_->path() / name).string(), "v1"});
  }

  std::optional<TempDir> dir_;
  conda::FileFetcher fetcher_;
  conda::PackageRecord dep_, hello_;
};

std::map<std::string, oci::TarEntry> by_path(const std::vector<oci::TarEntry>& entries) {
  std::map<std::string, oci::TarEntry> out;
  for (const auto& e : entries) out[e.path] = e;
  return out;
}

std::string file_content(const oci::Image& image, const std::string& path) {
  for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it) {
    auto tar = (*it)->open_tar();
    if (!tar) return "<error>";
    oci::TarReader reader(**tar);
    while (auto e = reader.next()) {
      if (!*e) break;
      if ((*e)->path != path) continue;
      StringWriter out;
      std::byte buf[4096];
      while (true) {
        auto n = reader.read_data(buf);
        if (!n || *n == 0) break;
        if (!out.write(std::span<const std::byte>(buf, *n))) return "<error>";
      }
      return out.take();
    }
  }
  return "<absent>";
}

TEST_F(BuilderTest, BuildsAnImageOurReadersAccept) {
  auto req = request({dep_, hello_}, "c1");
  req.owner = Owner{1000, 1000};
  req.user = "1000:1000";
  req.cmd = std::vector<std::string>{"hello"};
  req.variables = {{"FROM_YML", "yes"}};
  req.env = {{"DEP_MODE", "overridden"}};
  test::RecordingReporter seen;
  req.reporter = &seen;
  auto built = build_image(req);
  ASSERT_TRUE(built) << built.error().to_string();
  // file:// packages are read in place: fetched, nothing downloaded, and none of them "from the
  // cache" (a cold build from a local channel said "2 from the cache").
  EXPECT_EQ(built->packages_downloaded, 0u);
  EXPECT_EQ(built->bytes_downloaded, 0u);
  EXPECT_EQ(built->packages_local, 2u);
  using K = progress::Kind;
  std::vector<std::string> stages;
  for (const auto& e : seen.of(K::StageStart)) stages.push_back(e.stage);
  EXPECT_EQ(stages, (std::vector<std::string>{"fetch", "plan", "layers"}));
  EXPECT_EQ(seen.of(K::StageEnd).size(), 3u);
  EXPECT_EQ(seen.of(K::StageStart, "fetch").at(0).total, 2u);
  auto fetched = seen.of(K::TaskEnd, "fetch");
  ASSERT_EQ(fetched.size(), 2u);
  for (const auto& e : fetched) EXPECT_EQ(e.detail, "local") << e.task;
  EXPECT_EQ(seen.of(K::StageEnd, "fetch").at(0).detail,
            "2 package(s): 0 downloaded (0 B), 0 from the package cache, 2 local");
  auto layers = seen.of(K::TaskEnd, "layers");
  ASSERT_EQ(layers.size(), 3u);
  for (const auto& e : layers) EXPECT_EQ(e.detail, "built") << e.task;
  EXPECT_EQ(seen.of(K::TaskStart, "layers").size(), 3u);
  EXPECT_EQ(seen.of(K::StageEnd, "layers").at(0).detail.substr(0, 31),
            "3 layer(s): 0 reused, 3 built (");
  // One layer per package, then the environment-wide layer.
  ASSERT_EQ(built->layers.size(), 3u);
  EXPECT_EQ(built->layers[0].packages, std::vector<std::string>{"dep-1.0-0"});
  EXPECT_EQ(built->layers[1].packages, std::vector<std::string>{"hello-1.0-0"});
  EXPECT_TRUE(built->layers[2].packages.empty());
  EXPECT_EQ(built->bytes_reused, 0u);
  EXPECT_GT(built->bytes_new, 0u);

  auto written = write(*built, "out");
  ASSERT_TRUE(written) << written.error().to_string();
  auto image = oci::read_image({oci::Transport::OciLayout, (dir_->path() / "out").string(), "v1"});
  ASSERT_TRUE(image) << image.error().to_string();
  ASSERT_EQ(image->layers.size(), 3u);

  EXPECT_EQ(file_content(*image, "opt/conda/bin/hello"),
            "#!/bin/sh\necho prefix=/opt/conda v1.0\ncat /opt/conda/share/dep.txt\n");
  EXPECT_EQ(file_content(*image, "opt/conda/share/dep.txt"), "from dep\n");
  EXPECT_NE(file_content(*image, "opt/conda/conda-meta/hello-1.0-0.json"), "<absent>");
  EXPECT_NE(file_content(*image, "opt/conda/conda-meta/history"), "<absent>");

  auto merged = oci::merged_filesystem(image->layers);
  ASSERT_TRUE(merged);
  auto files = by_path(*merged);
  ASSERT_TRUE(files.contains("opt"));
  EXPECT_EQ(files["opt"].uid, 0);
  EXPECT_EQ(files["opt/conda"].uid, 1000);
  EXPECT_EQ(files["opt/conda/bin/hello"].uid, 1000);
  EXPECT_EQ(files["opt/conda/bin/hello"].gid, 1000);
  EXPECT_EQ(files["opt/conda/bin/hello"].mode, 0755u);
  EXPECT_EQ(files["opt/conda/bin/hello"].mtime, 1700000000);
  EXPECT_EQ(files["opt/conda/lib/libdep.so"].type, oci::EntryType::Symlink);
  EXPECT_EQ(files["opt/conda/lib/libdep.so"].link_target, "libdep.so.1");

  const auto& config = image->config;
  EXPECT_EQ(config.env_var("PATH"),
            "/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(config.env_var("CONDA_PREFIX"), "/opt/conda");
  EXPECT_EQ(config.env_var("DEP_HOME"), "/opt/conda/share");
  EXPECT_EQ(config.env_var("DEP_MODE"), "overridden");
  EXPECT_EQ(config.env_var("FROM_YML"), "yes");
  EXPECT_EQ(config.user(), "1000:1000");
  EXPECT_EQ(config.cmd(), std::vector<std::string>{"hello"});
  EXPECT_EQ(config.created(), "2023-11-14T22:13:20Z");
  auto labels = config.labels();
  EXPECT_EQ(labels["io.docker-envs.environment.name"], "demo");
  EXPECT_EQ(labels["io.docker-envs.environment.packages"], "2");
  EXPECT_EQ(labels["io.docker-envs.environment.spec-hash"], "sha256:test");
  EXPECT_EQ(config.platform().architecture, "amd64");
  // One history entry per layer naming its packages (plus the config edit).
  auto history = config.history();
  ASSERT_EQ(history.size(), 4u);
  EXPECT_NE(history[1].created_by.find("hello-1.0-0"), std::string::npos);
  // The `if` line of the activation script cannot be evaluated: a warning says so.
  bool warned = false;
  for (const auto& w : built->warnings) warned |= w.find("dep.sh") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(BuilderTest, RefusesARequestWithoutCacheDirectories) {
  auto req = request({dep_, hello_}, "c0");
  req.layer_cache.clear();
  auto built = build_image(req);
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().to_string().find("layer cache"), std::string::npos);
  EXPECT_FALSE(fs::exists("plans"));
  EXPECT_FALSE(fs::exists("keys"));
}

TEST_F(BuilderTest, WarmRebuildReusesEveryLayerAndKeepsTheDigest) {
  auto first = build_image(request({dep_, hello_}, "c1"));
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = build_image(request({dep_, hello_}, "c1"));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->bytes_new, 0u);
  EXPECT_EQ(second->bytes_reused, first->bytes_new);
  for (const auto& l : second->layers) EXPECT_TRUE(l.reused) << l.label;
  auto a = write(*first, "a");
  auto b = write(*second, "b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->manifest_digest, b->manifest_digest);
  // Both layouts hard-link the cache's read-only blobs instead of copying them.
  for (const auto& l : second->layers) {
    struct stat cached {}, in_a {}, in_b {};
    auto hex = l.blob.digest.hex();
    ASSERT_EQ(::stat((dir_->path() / "c1/layers/blobs/sha256" / hex).c_str(), &cached), 0);
    ASSERT_EQ(::stat((dir_->path() / "a/blobs/sha256" / hex).c_str(), &in_a), 0);
    ASSERT_EQ(::stat((dir_->path() / "b/blobs/sha256" / hex).c_str(), &in_b), 0);
    EXPECT_EQ(in_a.st_ino, cached.st_ino) << l.label;
    EXPECT_EQ(in_b.st_ino, cached.st_ino) << l.label;
    EXPECT_EQ(cached.st_mode & 07777, 0444u) << l.label;
  }
}

TEST_F(BuilderTest, TwoEmptyCachesGiveTheSameDigest) {
  auto first = build_image(request({dep_, hello_}, "c1"));
  auto second = build_image(request({dep_, hello_}, "c2"));
  ASSERT_TRUE(first && second);
  auto a = write(*first, "a");
  auto b = write(*second, "b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->manifest_digest, b->manifest_digest);
  EXPECT_EQ(second->bytes_reused, 0u);
}

TEST_F(BuilderTest, BumpingOnePackageRebuildsOnlyItsLayerAndTheFinalOne) {
  std::vector<conda::PackageRecord> packages = {dep_};
  for (int i = 0; i < 6; ++i)
    packages.push_back(test::record_for(dir_->path() / "channel", test::filler_spec(i)));
  packages.push_back(hello_);
  auto req = request(packages, "c1");
  req.strategy = LayerStrategy::Auto;
  req.max_layers = 6;  // 8 packages: buckets needed
  auto first = build_image(req);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_LE(first->layers.size(), 6u);

  packages.back() = test::record_for(dir_->path() / "channel", test::hello_spec("2.0"));
  auto bumped = request(packages, "c1");
  bumped.strategy = LayerStrategy::Auto;
  bumped.max_layers = 6;
  auto second = build_image(bumped);
  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_EQ(second->layers.size(), first->layers.size());
  size_t rebuilt = 0;
  for (size_t i = 0; i < second->layers.size(); ++i) {
    const auto& l = second->layers[i];
    bool has_hello = false;
    for (const auto& p : l.packages) has_hello |= p.starts_with("hello-");
    if (!l.reused) {
      ++rebuilt;
      EXPECT_TRUE(has_hello || l.packages.empty()) << l.label;
    } else {
      EXPECT_EQ(l.blob.digest, first->layers[i].blob.digest) << l.label;
    }
  }
  EXPECT_EQ(rebuilt, 2u);
}

TEST_F(BuilderTest, AddedFilesGoToTheFinalLayer) {
  fs::create_directories(dir_->path() / "app/sub");
  ASSERT_TRUE(write_file_atomic(dir_->path() / "app/sub/main.py", "print(1)\n"));
  auto req = request({dep_}, "c1");
  req.files = {{dir_->path() / "app", "/srv/app"}};
  req.workdir = "/srv/app";
  auto built = build_image(req);
  ASSERT_TRUE(built) << built.error().to_string();
  EXPECT_EQ(file_content(built->image, "srv/app/sub/main.py"), "print(1)\n");
  EXPECT_EQ(built->image.config.working_dir(), "/srv/app");
  // Changing the file's content changes the final layer's key.
  ASSERT_TRUE(write_file_atomic(dir_->path() / "app/sub/main.py", "print(2)\n"));
  auto again = build_image(req);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->layers[0].reused);
  EXPECT_FALSE(again->layers.back().reused);
  EXPECT_EQ(file_content(again->image, "srv/app/sub/main.py"), "print(2)\n");
}

// Without SOURCE_DATE_EPOCH the image is as old as its newest package (its index.json timestamp),
// not 1970: the same packages still give the same digest.
TEST_F(BuilderTest, CreatedIsTheNewestPackageTimestampUnlessSourceDateEpochIsSet) {
  auto newer = test::hello_spec();
  newer.timestamp = 1720000000000;  // 2024-07-03T09:46:40Z, in milliseconds as conda writes it
  fs::create_directories(dir_->path() / "newer");
  auto hello = test::record_for(dir_->path() / "newer", newer);
  auto req = request({dep_, hello}, "c1");
  req.source_date_epoch.reset();
  auto built = build_image(req);
  ASSERT_TRUE(built) << built.error().to_string();
  EXPECT_EQ(built->image.config.created(), "2024-07-03T09:46:40Z");
  EXPECT_EQ(built->image.config.labels()["org.opencontainers.image.created"],
            "2024-07-03T09:46:40Z");
  for (const auto& h : built->image.config.history())
    EXPECT_EQ(h.created, "2024-07-03T09:46:40Z") << h.created_by;
  auto again = build_image(request({dep_, hello}, "c2"));  // SOURCE_DATE_EPOCH set: it wins
  ASSERT_TRUE(again);
  EXPECT_EQ(again->image.config.created(), "2023-11-14T22:13:20Z");
  // Built again (its layers now cached): the same bytes.
  auto first = write(*built, "one");
  auto second_build = build_image(req);
  ASSERT_TRUE(first && second_build);
  auto second = write(*second_build, "two");
  ASSERT_TRUE(second);
  EXPECT_EQ(first->manifest_digest, second->manifest_digest);
}

// Files added with `user:` set belong to that user, as the prefix does; the directories above
// them stay root's.
TEST_F(BuilderTest, AddedFilesBelongToTheUser) {
  fs::create_directories(dir_->path() / "app/sub");
  ASSERT_TRUE(write_file_atomic(dir_->path() / "app/sub/main.py", "print(1)\n"));
  ASSERT_TRUE(write_file_atomic(dir_->path() / "app.ini", "x=1\n"));
  auto req = request({dep_}, "c1");
  req.files = {{dir_->path() / "app", "/srv/app"}, {dir_->path() / "app.ini", "/etc/app.ini"}};
  req.owner = Owner{1000, 100};
  req.user = "1000:100";
  auto built = build_image(req);
  ASSERT_TRUE(built) << built.error().to_string();
  auto merged = oci::merged_filesystem(built->image.layers);
  ASSERT_TRUE(merged) << merged.error().to_string();
  auto files = by_path(*merged);
  for (std::string owned : {"srv/app", "srv/app/sub", "srv/app/sub/main.py", "etc/app.ini"}) {
    ASSERT_TRUE(files.contains(owned)) << owned;
    EXPECT_EQ(files[owned].uid, 1000) << owned;
    EXPECT_EQ(files[owned].gid, 100) << owned;
  }
  EXPECT_EQ(files["srv"].uid, 0);
  EXPECT_EQ(files["etc"].uid, 0);
  EXPECT_EQ(files["opt/conda/share/dep.txt"].uid, 1000);
  // Another owner is another final layer (the cache key has the owned paths), not a stale one.
  req.owner = Owner{2000, 2000};
  auto other = build_image(req);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->layers.back().reused);
  auto none = request({dep_}, "c1");  // no files: the package layer keys are what they were
  none.owner = Owner{1000, 100};
  auto plain = build_image(none);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->layers.front().reused);
}

TEST_F(BuilderTest, BadInputsFailClearly) {
  auto missing = hello_;
  missing.url = "file://" + (dir_->path() / "channel/nothere-1.0-0.conda").string();
  auto r = build_image(request({dep_, missing}, "c1"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("nothere-1.0-0.conda"), std::string::npos)
      << r.error().to_string();

  auto wrong = hello_;
  wrong.sha256 = Digest::of("something else");
  r = build_image(request({wrong}, "c1"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("sha256"), std::string::npos) << r.error().to_string();

  auto req = request({dep_}, "c1");
  req.prefix = "relative";
  r = build_image(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("absolute"), std::string::npos);

  req = request({dep_}, "c1");
  req.platform = "osx-64";
  r = build_image(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("osx-64"), std::string::npos);
}

TEST(ActivationScript, EvaluatesPlainExportsOnly) {
  auto out = parse_activation_script(
      "#!/bin/sh\n# comment\nexport A=1\nexport B=\"two words\"\nexport C='$literal'\n"
      "export D=${CONDA_PREFIX}/x:$CONDA_PREFIX/y\nexport E=$HOME/z\nF=unexported\n"
      "export G=\"$(date)\"\n\n",
      "/env");
  ASSERT_EQ(out.variables.size(), 4u);
  EXPECT_EQ(out.variables[0], (NameValue{"A", "1"}));
  EXPECT_EQ(out.variables[1], (NameValue{"B", "two words"}));
  EXPECT_EQ(out.variables[2], (NameValue{"C", "$literal"}));
  EXPECT_EQ(out.variables[3], (NameValue{"D", "/env/x:/env/y"}));
  ASSERT_EQ(out.skipped.size(), 3u);
  EXPECT_EQ(out.skipped[0], "export E=$HOME/z");
  EXPECT_EQ(out.skipped_lines[0], 7u);
}

// Lines that run only under a condition (or in a function) are never baked in.
TEST(ActivationScript, ConditionalExportsAreNotApplied) {
  auto out = parse_activation_script(
      "export TOP=1\n"
      "if [ \"$(uname -m)\" = x86_64 ]; then\n"
      "  export ARCHV=x86\n"
      "else\n"
      "  export ARCHV=arm\n"
      "fi\n"
      "case \"$SHELL\" in\n"
      "  *bash) export SH=bash ;;\n"
      "esac\n"
      "for d in a b; do\n"
      "  export LOOP=$d\n"
      "done\n"
      "setup() {\n"
      "  export IN_FUNC=1\n"
      "}\n"
      "[ -d /x ] && export AND=1\n"
      "while false; do export W=1; done\n"
      "export AFTER=2\n",
      "/env");
  ASSERT_EQ(out.variables.size(), 2u);
  EXPECT_EQ(out.variables[0], (NameValue{"TOP", "1"}));
  EXPECT_EQ(out.variables[1], (NameValue{"AFTER", "2"}));
  for (const auto& line : out.skipped) EXPECT_EQ(line.find("export TOP"), std::string::npos);
  bool archv = false;
  for (size_t i = 0; i < out.skipped.size(); ++i)
    if (out.skipped[i] == "export ARCHV=x86") {
      archv = true;
      EXPECT_EQ(out.skipped_lines[i], 3u);
    }
  EXPECT_TRUE(archv);
}

}  // namespace
}  // namespace de::build
