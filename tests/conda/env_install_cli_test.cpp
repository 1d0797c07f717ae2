// End-to-end: `docker-envs env install` on packages the test builds itself.
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

TEST(EnvInstallCli, LaysOutPackagesUnderRoot) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  test::PackageSpec spec;
  spec.name = "hello";
  test::Entry script =
      test::file("bin/hello", "#!/opt/anaconda1anaconda2anaconda3/bin/sh\necho hi\n", 0755);
  script.placeholder = "/opt/anaconda1anaconda2anaconda3";
  spec.payload = {script};
  auto pkg = test::build_package(dir->path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  auto root = dir->path() / "root";
  auto r = de::test::run_command(fmt::format(
      "SOURCE_DATE_EPOCH=0 {} env install --root {} --cache {} {}", de::test::cli_path().string(),
      root.string(), (dir->path() / "cache").string(), pkg->string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(*read_file(root / "opt/conda/bin/hello"), "#!/opt/conda/bin/sh\necho hi\n");
  EXPECT_TRUE(fs::exists(root / "opt/conda/conda-meta/hello-1.0-0.json"));
  EXPECT_TRUE(fs::exists(root / "opt/conda/conda-meta/history"));

  // Without --root the prefix is a host directory; scripts point into it.
  auto host = dir->path() / "env";
  auto h = de::test::run_command(fmt::format("{} env install --prefix {} --cache {} {}",
                                             de::test::cli_path().string(), host.string(),
                                             (dir->path() / "cache").string(), pkg->string()));
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_EQ(*read_file(host / "bin/hello"), "#!" + host.string() + "/bin/sh\necho hi\n");

  auto bad = de::test::run_command(fmt::format(
      "{} env install --root {} --cache {} --prefix relative {}", de::test::cli_path().string(),
      root.string(), (dir->path() / "cache").string(), pkg->string()));
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("absolute"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace de::conda
