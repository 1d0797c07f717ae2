// What `build` prints about the changes since the last build: the summary lines (the three kinds
// of package change, a build- or channel-only change, the rebuilt layers named up to a limit,
// nothing changed, a platform prefix) and the --json `changes` object.
#include "cli/build_changes.hpp"

#include <gtest/gtest.h>

namespace de::cli {
namespace {

using build::RecordedPackage;

RecordedPackage pkg(std::string name, std::string version, std::string b = "0",
                    std::string channel = "local") {
  return {.name = std::move(name), .version = std::move(version), .build = std::move(b),
          .channel = std::move(channel)};
}

build::BuildChanges sample() {
  return {.previous_tag = "1",
          .previous_manifest = "sha256:abc",
          .previous_written = 1796234400,  // 2026-12-02 18:00:00 UTC
          .added = {pkg("numpy", "1.26.4")},
          .removed = {pkg("six", "1.16.0")},
          .changed = {{.before = pkg("openssl", "3.2.0", "h1"), .after = pkg("openssl", "3.2.0", "h2")},
                      {.before = pkg("python", "3.11.7"), .after = pkg("python", "3.11.8")},
                      {.before = pkg("tzdata", "2024a", "0", "defaults"),
                       .after = pkg("tzdata", "2024a", "0", "conda-forge")}},
          .layers_rebuilt = {"python-3.11.8-0", "numpy-1.26.4-0"},
          .layers_reused = {"zlib-1.3-0", "environment"}};
}

TEST(BuildChangesText, EveryKindOfChange) {
  EXPECT_EQ(changes_lines(sample()),
            (std::vector<std::string>{
                "changes since the last build (1, 2026-12-02 18:00 UTC):",
                "  + numpy 1.26.4",
                "  - six 1.16.0",
                "  ~ openssl 3.2.0 (build h1 → h2)",
                "  ~ python 3.11.7 → 3.11.8",
                "  ~ tzdata 2024a (channel defaults → conda-forge)",
                "  rebuilt 2 of 4 layers: python-3.11.8-0, numpy-1.26.4-0",
            }));
}

TEST(BuildChangesText, NothingChangedAndPlatformPrefix) {
  build::BuildChanges c{.previous_tag = "latest", .previous_written = 0, .layers_reused = {"a"}};
  EXPECT_EQ(changes_lines(c, "linux-aarch64"),
            (std::vector<std::string>{
                "linux-aarch64: no package changed since the last build (latest, 1970-01-01 00:00 UTC)"}));
}

TEST(BuildChangesText, ManyRebuiltLayersAreCounted) {
  build::BuildChanges c{.added = {{.name = "requests", .version = "2.31.0", .pypi = true}},
                        .layers_rebuilt = {"a", "b", "c", "d"}};
  auto lines = changes_lines(c, {}, 2);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "  + requests 2.31.0 (pypi)");
  EXPECT_EQ(lines[2], "  rebuilt 4 of 4 layers: a, b and 2 more");
}

TEST(BuildChangesText, LongLayerListsAreWrappedAt80Columns) {
  build::BuildChanges c{.layers_rebuilt = {"python-3.11.8-h2755cc3_0_cpython",
                                           "numpy-1.26.4-py311h64a7726_0",
                                           "environment files (conda-meta/history)",
                                           std::string(90, 'x')},
                        .layers_reused = {"a"}};
  auto lines = changes_lines(c);
  EXPECT_EQ(std::vector<std::string>(lines.begin() + 1, lines.end()),
            (std::vector<std::string>{
                "  rebuilt 4 of 5 layers: python-3.11.8-h2755cc3_0_cpython,",
                "    numpy-1.26.4-py311h64a7726_0, environment files (conda-meta/history),",
                "    " + std::string(90, 'x')}));
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) EXPECT_LT(lines[i].size(), 80u) << lines[i];
}

TEST(BuildChangesJson, SameContentAsTheText) {
  EXPECT_TRUE(changes_json(std::nullopt).is_null());
  auto j = changes_json(sample());
  EXPECT_EQ(j["previous"]["tag"], "1");
  EXPECT_EQ(j["previous"]["manifest_digest"], "sha256:abc");
  EXPECT_EQ(j["previous"]["time"], "2026-12-02T18:00:00Z");
  ASSERT_EQ(j["added"].size(), 1u);
  EXPECT_EQ(j["added"][0],
            (nlohmann::json{{"name", "numpy"}, {"version", "1.26.4"}, {"build", "0"},
                            {"channel", "local"}, {"pypi", false}}));
  EXPECT_EQ(j["removed"][0]["name"], "six");
  ASSERT_EQ(j["changed"].size(), 3u);
  EXPECT_EQ(j["changed"][1]["name"], "python");
  EXPECT_EQ(j["changed"][1]["before"]["version"], "3.11.7");
  EXPECT_EQ(j["changed"][1]["after"]["version"], "3.11.8");
  EXPECT_EQ(j["layers"]["rebuilt"], (nlohmann::json{"python-3.11.8-0", "numpy-1.26.4-0"}));
  EXPECT_EQ(j["layers"]["reused"], (nlohmann::json{"zlib-1.3-0", "environment"}));
}

}  // namespace
}  // namespace de::cli
