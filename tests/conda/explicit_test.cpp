#include "docker_envs/conda/explicit.hpp"

#include <gtest/gtest.h>

#include "support/testdata.hpp"

namespace de::conda {
namespace {

TEST(Explicit, ParsesUrlsAndHashes) {
  auto env = parse_explicit(R"(# Generated
# platform: linux-64
@EXPLICIT
https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2#d7c89558ba9fa0495403155b64376d81
https://conda.anaconda.org/t/secret-tok/private/noarch/tzdata-2022g-h191b570_0.conda#sha256:fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726

https://repo.example/ch/linux-64/py-thing-1.2.3-py311h1234_17.conda
)",
                            "env.txt");
  ASSERT_TRUE(env) << env.error().to_string();
  EXPECT_EQ(env->platform, "linux-64");
  ASSERT_EQ(env->packages.size(), 3u);
  const auto& a = env->packages[0];
  EXPECT_EQ(a.name, "_libgcc_mutex");
  EXPECT_EQ(a.version, "0.1");
  EXPECT_EQ(a.build, "conda_forge");
  EXPECT_EQ(a.subdir, "linux-64");
  EXPECT_EQ(a.channel, "conda-forge");
  EXPECT_EQ(a.md5->hex(), "d7c89558ba9fa0495403155b64376d81");
  const auto& b = env->packages[1];
  EXPECT_EQ(b.sha256->hex(), "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726");
  EXPECT_EQ(b.channel, "private");
  EXPECT_EQ(b.url,
            "https://conda.anaconda.org/t/secret-tok/private/noarch/tzdata-2022g-h191b570_0.conda");
  const auto& c = env->packages[2];
  EXPECT_EQ(c.name, "py-thing");
  EXPECT_EQ(c.build_number, 17);
  EXPECT_FALSE(c.md5 || c.sha256);
}

TEST(Explicit, ErrorsNameTheLine) {
  auto no_marker = parse_explicit("https://x/linux-64/a-1-0.conda\n", "env.txt");
  ASSERT_FALSE(no_marker);
  EXPECT_NE(no_marker.error().to_string().find("env.txt:1"), std::string::npos);
  auto bad_hash = parse_explicit("@EXPLICIT\nhttps://x/linux-64/a-1-0.conda#abc\n", "env.txt");
  ASSERT_FALSE(bad_hash);
  EXPECT_NE(bad_hash.error().to_string().find("env.txt:2"), std::string::npos);
  EXPECT_FALSE(parse_explicit("@EXPLICIT\nhttps://x/linux-64/a-1-0.zip\n", "env.txt"));
  EXPECT_FALSE(parse_explicit("# nothing\n", "env.txt"));
}

TEST(Explicit, RealFiles) {
  DE_REQUIRE_TESTDATA();
  auto dir = de::test::testdata_dir() / "env-files";
  for (auto name :
       {"conda/explicit.txt", "mamba/explicit_env_linux.txt", "mamba/explicit_env_osx.txt",
        "rattler/python_explicit-env-linux-64.txt", "rattler/explicit-envs_ros-noetic_linux-64.txt",
        "rattler/python_explicit-env-win-64.txt"}) {
    auto env = load_explicit(dir / name);
    ASSERT_TRUE(env) << name << ": " << env.error().to_string();
    EXPECT_GT(env->packages.size(), 1u) << name;
  }
}

}  // namespace
}  // namespace de::conda
