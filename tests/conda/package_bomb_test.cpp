// Extraction refuses decompression bombs (issue 13 item 8): a package may not expand beyond a
// multiple of its size, nor beyond what its info/paths.json declares. The limits are set low here
// so that the tests stay small.
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

class PackageBomb : public ::testing::TestWithParam<PackageFormat> {};

TEST_P(PackageBomb, ExpansionBeyondTheRatioIsRefused) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  test::PackageSpec spec;
  spec.name = "bomb";
  spec.write_paths_json = false;  // nothing declared: the ratio applies
  spec.payload = {test::file("share/zeros", std::string(std::size_t{8} << 20, '\0'))};
  auto pkg = test::build_package(dir->path(), spec, GetParam());
  ASSERT_TRUE(pkg);
  ASSERT_LT(fs::file_size(*pkg), std::uintmax_t{64} << 10);
  ExtractLimits limits{.ratio = 100, .floor = 1 << 20};
  auto st = extract_package(*pkg, dir->path() / "x", limits);
  ASSERT_FALSE(st);
  std::string msg = st.error().to_string();
  EXPECT_NE(msg.find(pkg->filename().string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("decompression bomb"), std::string::npos) << msg;
  EXPECT_LE(fs::file_size(dir->path() / "x/share/zeros"), std::uintmax_t{2} << 20);

  // The same package under the default limits (floor 256 MiB) extracts.
  EXPECT_TRUE(extract_package(*pkg, dir->path() / "y"));
}

TEST_P(PackageBomb, MoreThanPathsJsonDeclaresIsRefused) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  test::PackageSpec spec;
  spec.name = "liar";
  spec.payload = {test::file("share/data", "ten bytes!")};
  auto entries = test::info_entries(spec);  // paths.json: share/data is 10 bytes
  entries.push_back(test::file("share/data", std::string(std::size_t{1} << 20, 'x')));
  auto pkg = test::build_raw(dir->path(), "liar-1.0-0", GetParam(), entries);
  ASSERT_TRUE(pkg);
  ExtractLimits limits{.slack = 4096};
  auto st = extract_package(*pkg, dir->path() / "x", limits);
  ASSERT_FALSE(st);
  std::string msg = st.error().to_string();
  EXPECT_NE(msg.find("liar-1.0-0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("info/paths.json declares"), std::string::npos) << msg;
}

TEST_P(PackageBomb, HonestPackagesFitTheirDeclaredSize) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  // Hardlinks, symlinks, directories and placeholders, with no slack at all.
  auto pkg = test::build_package(dir->path(), test::placeholder_package(), GetParam());
  ASSERT_TRUE(pkg);
  auto st = extract_package(*pkg, dir->path() / "x", {.slack = 0});
  EXPECT_TRUE(st) << st.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(Formats, PackageBomb,
                         ::testing::Values(PackageFormat::Conda, PackageFormat::TarBz2),
                         [](const auto& param) {
                           return param.param == PackageFormat::Conda ? std::string("conda")
                                                                      : std::string("tar_bz2");
                         });

}  // namespace
}  // namespace de::conda
