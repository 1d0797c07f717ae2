// `build` on a package that tries to put a host file into a layer (issue 13 item 1).
#include <gtest/gtest.h>

#include "build_fixtures.hpp"
#include "conda/hostile_packages.hpp"
#include "docker_envs/build/builder.hpp"
#include "docker_envs/conda/channel.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
namespace ct = de::conda::test;

TEST(HostilePackageBuild, AHostFileBehindAnUnlistedLinkNeverReachesALayer) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto secret = ct::host_secret(dir->path());
  fs::create_directories(dir->path() / "channel");
  for (auto via : {ct::ListedVia::PathsJson, ct::ListedVia::InfoFiles, ct::ListedVia::HasPrefix}) {
    SCOPED_TRACE(static_cast<int>(via));
    std::string listed = "share/lnk" + secret.string();
    auto pkg = ct::build_link_escape(dir->path() / "channel", via, "/", listed);
    ASSERT_TRUE(pkg);
    auto hashes = conda::hash_package_file(*pkg);
    ASSERT_TRUE(hashes);
    conda::PackageRecord r;
    r.name = "evil";
    r.version = "1.0";
    r.build = "0";
    r.subdir = "linux-64";
    r.fn = pkg->filename().string();
    r.url = "file://" + pkg->string();
    r.sha256 = hashes->sha256;
    conda::FileFetcher fetcher;
    std::string cache = fmt::format("c{}", static_cast<int>(via));
    auto built = build_image({.packages = {r},
                              .base = oci::scratch_image(),
                              .environment_name = "demo",
                              .strategy = LayerStrategy::PerPackage,
                              .source_date_epoch = 1700000000,
                              .spec_hash = "sha256:test",
                              .package_cache = dir->path() / cache / "pkgs",
                              .layer_cache = dir->path() / cache / "layers",
                              .fetcher = &fetcher});
    ASSERT_FALSE(built) << "built an image from a package that reads " << secret;
    std::string msg = built.error().to_string();
    EXPECT_NE(msg.find("evil-1.0-0"), std::string::npos) << msg;
    EXPECT_NE(msg.find(listed), std::string::npos) << msg;
    fs::remove(*pkg);
  }
}

}  // namespace
}  // namespace de::build
