// build::resolve_pip_section's pieces that need no index: which conda packages count as installed
// distributions, which wheels get REQUESTED, and the refusals that come before any network.
#include "docker_envs/build/pip_section.hpp"

#include <gtest/gtest.h>

namespace de::build {
namespace {

conda::PackageRecord record(std::string name, std::string version,
                            std::vector<std::string> depends = {}) {
  conda::PackageRecord r;
  r.name = std::move(name);
  r.version = std::move(version);
  r.build = "0";
  r.depends = std::move(depends);
  return r;
}

conda::PypiLockEntry entry(std::string name, std::vector<std::string> requires_dist = {}) {
  conda::PypiLockEntry e{.name = std::move(name), .version = "1.0"};
  e.requires_dist = std::move(requires_dist);
  return e;
}

TEST(PipSection, CondaPythonPackagesCountAsInstalled) {
  std::vector<conda::PackageRecord> packages{
      record("python", "3.11.4"), record("numpy", "1.26.4", {"python >=3.11,<3.12.0a0", "libblas"}),
      record("typing_extensions", "4.9.0", {"python"}), record("zlib", "1.3", {"libzlib 1.3"}),
      record("__glibc", "2.28"), record("python-dateutil", "2.8.2", {"python_abi 3.11", "python>=3.6"})};
  EXPECT_EQ(conda_dist_infos(packages),
            (std::vector<std::string>{"numpy-1.26.4.dist-info", "typing_extensions-4.9.0.dist-info",
                                      "python-dateutil-2.8.2.dist-info"}));
}

TEST(PipSection, RequestedAreTheRoots) {
  std::vector<conda::PypiLockEntry> entries{
      entry("gamma", {"delta >=1", "Eta_Pkg >=1.0"}), entry("delta"), entry("eta-pkg"),
      entry("alpha", {"alpha"}),  // a self-reference does not make it a dependency
      entry("requests", {"urllib3 <3", "charset-normalizer"}), entry("urllib3")};
  EXPECT_EQ(requested_roots(entries),
            (std::vector<bool>{true, false, false, true, true, false}));
}

TEST(PipSection, NoPipItemsNoWork) {
  conda::EnvironmentSpec spec;
  auto r = resolve_pip_section(spec, {}, "linux-64", {}, {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->wheels.empty());
}

TEST(PipSection, RefusalsBeforeAnyNetwork) {
  conda::EnvironmentSpec spec;
  spec.file = "/nonexistent/env.yml";
  spec.pip = {{.text = "alpha", .line = 7}};
  std::vector<conda::PackageRecord> no_python{record("zlib", "1.3")};
  auto none = resolve_pip_section(spec, no_python, "linux-64", {}, {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Code::InvalidArgument);
  EXPECT_NE(none.error().to_string().find("/nonexistent/env.yml:7: the pip section needs a python"),
            std::string::npos)
      << none.error().to_string();
  std::vector<conda::PackageRecord> with_python{record("python", "3.11.4")};
  auto offline = resolve_pip_section(spec, with_python, "linux-64", {}, {.offline = true});
  ASSERT_FALSE(offline);
  EXPECT_NE(offline.error().to_string().find("--offline cannot resolve the pip section"),
            std::string::npos)
      << offline.error().to_string();
  spec.pip = {{.text = "-e ./src", .line = 9}};
  auto editable = resolve_pip_section(spec, with_python, "linux-64", {}, {});
  ASSERT_FALSE(editable);
  EXPECT_EQ(editable.error().code(), Code::Unsupported);
  EXPECT_NE(editable.error().to_string().find("env.yml:9: editable installs"), std::string::npos);
}

}  // namespace
}  // namespace de::build
