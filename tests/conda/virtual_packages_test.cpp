#include "docker_envs/conda/virtual_packages.hpp"

#include <gtest/gtest.h>

#include <map>

namespace de::conda {
namespace {

std::map<std::string, std::string> by_name(const std::vector<PackageRecord>& records) {
  std::map<std::string, std::string> out;
  for (const auto& r : records) out[r.name] = r.version + "=" + r.build;
  return out;
}

TEST(VirtualPackages, DefaultsPerPlatform) {
  EXPECT_EQ(by_name(*virtual_packages("linux-64")),
            (std::map<std::string, std::string>{{"__archspec", "1=x86_64"},
                                                {"__glibc", "2.28=0"},
                                                {"__linux", "0=0"},
                                                {"__unix", "0=0"}}));
  EXPECT_EQ(by_name(*virtual_packages("linux-aarch64"))["__archspec"], "1=aarch64");
  EXPECT_EQ(by_name(*virtual_packages("osx-arm64")),
            (std::map<std::string, std::string>{
                {"__archspec", "1=arm64"}, {"__osx", "11.0=0"}, {"__unix", "0=0"}}));
  EXPECT_EQ(by_name(*virtual_packages("osx-64"))["__osx"], "10.15=0");
  EXPECT_EQ(by_name(*virtual_packages("win-64")),
            (std::map<std::string, std::string>{{"__archspec", "1=x86_64"}, {"__win", "0=0"}}));
  auto linux_records = *virtual_packages("linux-64");
  for (const auto& r : linux_records) {
    EXPECT_EQ(r.subdir, "linux-64");
    EXPECT_TRUE(r.url.empty());
    EXPECT_TRUE(is_virtual_package(r.name));
  }
}

TEST(VirtualPackages, Overrides) {
  auto v = by_name(*virtual_packages(
      "linux-64", {.glibc = "2.17", .cuda = "12.4", .linux = "6.1", .archspec = "zen4"}));
  EXPECT_EQ(v["__glibc"], "2.17=0");
  EXPECT_EQ(v["__cuda"], "12.4=0");
  EXPECT_EQ(v["__linux"], "6.1=0");
  EXPECT_EQ(v["__archspec"], "1=zen4");
  // An empty override removes the package.
  auto removed = by_name(*virtual_packages("linux-64", {.glibc = "", .cuda = ""}));
  EXPECT_FALSE(removed.contains("__glibc"));
  EXPECT_FALSE(removed.contains("__cuda"));
  EXPECT_FALSE(virtual_packages("linux-64", {.cuda = "not a version!"}));
  EXPECT_FALSE(virtual_packages("amiga-68k"));
  EXPECT_FALSE(virtual_packages("noarch"));
}

}  // namespace
}  // namespace de::conda
