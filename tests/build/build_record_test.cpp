// Build records: the diff of two builds (added / removed / changed packages, layers rebuilt and
// reused), the record's JSON round trip, and reading and writing records under a cache root
// (absent, corrupt, another environment's, replaced atomically).
#include "docker_envs/build/build_record.hpp"

#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/build/inputs.hpp"

namespace de::build {
namespace {
namespace fs = std::filesystem;

RecordedPackage conda(std::string name, std::string version, std::string build = "0",
                      std::string channel = "conda-forge") {
  return {.name = std::move(name),
          .version = std::move(version),
          .build = std::move(build),
          .channel = std::move(channel)};
}

RecordedPackage wheel(std::string name, std::string version) {
  return {.name = std::move(name), .version = std::move(version), .pypi = true};
}

RecordedLayer layer(std::string label, std::string_view seed, bool reused) {
  return {.label = std::move(label),
          .key = Digest::of(std::string("key ") + std::string(seed)),
          .digest = Digest::of(std::string("blob ") + std::string(seed)),
          .reused = reused};
}

BuildIdentity identity() {
  return {.source = "file:/work/app/environment.yml", .image = "app", .platform = "linux-64"};
}

BuildRecord record(std::vector<RecordedPackage> packages, std::vector<RecordedLayer> layers = {}) {
  return {.identity = identity(),
          .tag = "1",
          .manifest_digest = Digest::of("manifest").to_string(),
          .written = 1796234400,
          .packages = std::move(packages),
          .layers = std::move(layers)};
}

std::vector<std::string> names(const std::vector<RecordedPackage>& packages) {
  std::vector<std::string> out;
  for (const auto& p : packages) out.push_back(p.name + " " + p.version);
  return out;
}

TEST(BuildDiff, AddedRemovedChangedSortedByName) {
  auto before = record({conda("python", "3.11.7"), conda("six", "1.16.0"), conda("zlib", "1.3"),
                        conda("abc", "1.0"), conda("openssl", "3.2.0", "h1"),
                        conda("tzdata", "2024a", "0", "defaults")});
  auto after = record(
      {conda("zlib", "1.3"), conda("python", "3.11.8"), conda("numpy", "1.26.4"),
       conda("bzip2", "1.0.8"), conda("openssl", "3.2.0", "h2"), conda("tzdata", "2024a"),
       conda("abc", "1.0")},
      {layer("python-3.11.8-0", "p", false), layer("zlib-1.3-0", "z", true),
       layer("numpy-1.26.4-0", "n", false)});
  auto c = diff_builds(before, after);
  EXPECT_EQ(names(c.added), (std::vector<std::string>{"bzip2 1.0.8", "numpy 1.26.4"}));
  EXPECT_EQ(names(c.removed), (std::vector<std::string>{"six 1.16.0"}));
  ASSERT_EQ(c.changed.size(), 3u);
  EXPECT_EQ(c.changed[0].before, conda("openssl", "3.2.0", "h1"));  // the build only
  EXPECT_EQ(c.changed[0].after, conda("openssl", "3.2.0", "h2"));
  EXPECT_EQ(c.changed[1].before.version, "3.11.7");
  EXPECT_EQ(c.changed[1].after.version, "3.11.8");
  EXPECT_EQ(c.changed[2].before.channel, "defaults");  // the channel only
  EXPECT_EQ(c.changed[2].after.channel, "conda-forge");
  EXPECT_TRUE(c.packages_changed());
  EXPECT_EQ(c.layers_rebuilt, (std::vector<std::string>{"python-3.11.8-0", "numpy-1.26.4-0"}));
  EXPECT_EQ(c.layers_reused, (std::vector<std::string>{"zlib-1.3-0"}));
  EXPECT_EQ(c.previous_tag, "1");
  EXPECT_EQ(c.previous_written, 1796234400);
  EXPECT_EQ(c.previous_manifest, Digest::of("manifest").to_string());
}

TEST(BuildDiff, SameBuildAgainChangesNothing) {
  auto packages = std::vector{conda("python", "3.11.8"), wheel("requests", "2.31.0")};
  auto c = diff_builds(record(packages), record(packages, {layer("python", "p", true)}));
  EXPECT_FALSE(c.packages_changed());
  EXPECT_TRUE(c.layers_rebuilt.empty());
  EXPECT_EQ(c.layers_reused.size(), 1u);
  // Order alone is no change.
  auto c2 = diff_builds(record(packages), record({packages[1], packages[0]}));
  EXPECT_FALSE(c2.packages_changed());
}

TEST(BuildDiff, WheelsAndCondaPackagesOfOneNameAreDistinct) {
  auto c = diff_builds(record({conda("attrs", "23.1")}),
                       record({conda("attrs", "23.1"), wheel("attrs", "23.2")}));
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_TRUE(c.added[0].pypi);
  EXPECT_TRUE(c.changed.empty());
  auto bumped = diff_builds(record({wheel("requests", "2.31.0")}),
                            record({wheel("requests", "2.32.0")}));
  ASSERT_EQ(bumped.changed.size(), 1u);
  EXPECT_TRUE(bumped.changed[0].after.pypi);
}

TEST(BuildDiff, FromNothingEverythingIsAdded) {
  auto c = diff_builds(record({}), record({conda("b", "1"), conda("a", "2")}));
  EXPECT_EQ(names(c.added), (std::vector<std::string>{"a 2", "b 1"}));
  EXPECT_TRUE(c.removed.empty());
}

TEST(BuildIdentityKey, EachFieldCounts) {
  auto base = identity();
  auto key = base.key();
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, identity().key());
  auto other = base;
  other.platform = "linux-aarch64";
  EXPECT_NE(other.key(), key);
  other = base;
  other.image = "app2";
  EXPECT_NE(other.key(), key);
  other = base;
  other.source = "file:/work/app/environment2.yml";
  EXPECT_NE(other.key(), key);
  // Fields are delimited: moving characters between them changes the key.
  BuildIdentity a{.source = "ab", .image = "c", .platform = "p"};
  BuildIdentity b{.source = "a", .image = "bc", .platform = "p"};
  EXPECT_NE(a.key(), b.key());
}

TEST(BuildIdentityOfInputs, FileOrPrefixByCanonicalPathImageWithoutTag) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path env = dir->path() / "environment.yml";
  ASSERT_TRUE(write_file_atomic(env, "name: x\n"));
  BuildInputs in{.env_file = env.string(), .image_name = "app", .image_tag = "1"};
  auto id = build_identity(in, {}, "linux-64");
  EXPECT_EQ(id.source, "file:" + fs::canonical(env).string());
  EXPECT_EQ(id.image, "app");
  EXPECT_EQ(id.platform, "linux-64");
  // The same file by another path, and another tag: the same environment.
  in.env_file = (dir->path() / "." / "environment.yml").string();
  in.image_tag = "2";
  EXPECT_EQ(build_identity(in, {}, "linux-64"), id);
  // --from-prefix: the prefix (inputs.env_file holds it too).
  auto prefix = build_identity(in, {.from_prefix = dir->path().string()}, "linux-64");
  EXPECT_EQ(prefix.source, "prefix:" + fs::canonical(dir->path()).string());
  // Specs only.
  EXPECT_EQ(build_identity(BuildInputs{.image_name = "app"}, {}, "linux-64").source, "specs");
}

TEST(BuildRecordCodec, RoundTrip) {
  auto r = record({conda("python", "3.11.8", "h_0", "https://conda.anaconda.org/conda-forge"),
                   wheel("requests", "2.31.0")},
                  {layer("python-3.11.8-h_0", "p", false), layer("final", "f", true)});
  auto back = decode_build_record(encode_build_record(r));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->identity, r.identity);
  EXPECT_EQ(back->tag, r.tag);
  EXPECT_EQ(back->manifest_digest, r.manifest_digest);
  EXPECT_EQ(back->written, r.written);
  EXPECT_EQ(back->packages, r.packages);
  ASSERT_EQ(back->layers.size(), 2u);
  EXPECT_EQ(back->layers[0].label, "python-3.11.8-h_0");
  EXPECT_EQ(back->layers[0].key, r.layers[0].key);
  EXPECT_EQ(back->layers[0].digest, r.layers[0].digest);
  EXPECT_FALSE(back->layers[0].reused);
  EXPECT_TRUE(back->layers[1].reused);
}

TEST(BuildRecordCodec, DamagedRecordsAreErrors) {
  std::string good = encode_build_record(record({conda("a", "1")}, {layer("a", "a", false)}));
  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string text = good;
    auto pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return text.replace(pos, from.size(), to);
  };
  for (const std::string& bad :
       {std::string(""), std::string("[]"), good.substr(0, good.size() / 2),
        replaced("\"format\": 1", "\"format\": 2"), replaced("\"version\"", "\"versio\""),
        replaced("\"written\": 1796234400", "\"written\": \"soon\""),
        // Numbers out of range or with a fraction: refused, never cast (undefined behaviour).
        replaced("\"written\": 1796234400", "\"written\": 1.7e300"),
        replaced("\"written\": 1796234400", "\"written\": -5"),
        replaced("\"format\": 1", "\"format\": 1e300"),
        replaced("\"format\": 1", "\"format\": 4294967297"),
        replaced("\"key\": \"sha256:", "\"key\": \"md5:"),
        replaced("\"packages\": [", "\"packages\": {\"x\": 1}, \"y\": [")}) {
    auto r = decode_build_record(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::InvalidArgument) << bad;
    }
  }
}

TEST(BuildRecordFile, WriteReadReplace) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = dir->path() / "cache";
  auto none = read_build_record(root, identity());
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_FALSE(*none);

  auto first = record({conda("a", "1")});
  ASSERT_TRUE(write_build_record(root, first));
  fs::path path = build_record_path(root, identity());
  EXPECT_EQ(path, root / "builds" / (identity().key() + ".json"));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(root / "builds/.used" / path.filename()));  // the use stamp

  auto second = record({conda("a", "2")});
  second.tag = "2";
  ASSERT_TRUE(write_build_record(root, second));
  auto back = read_build_record(root, identity());
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->tag, "2");
  EXPECT_EQ((*back)->packages, second.packages);
  // Only the record (and its stamps): no temp file left beside it.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(root / "builds"))
    if (e.is_regular_file()) ++files;
  EXPECT_EQ(files, 1u);

  auto other = identity();
  other.platform = "linux-aarch64";
  auto absent = read_build_record(root, other);
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
}

TEST(BuildRecordFile, CorruptOrForeignRecordIsAnErrorNamingTheFile) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = dir->path();
  fs::path path = build_record_path(root, identity());
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(write_file_atomic(path, "{\"format\": 1, \"identity\": "));
  auto corrupt = read_build_record(root, identity());
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().to_string().find(path.string()), std::string::npos);

  // Another environment's record under this name (copied by hand): not taken for this one.
  auto foreign = record({conda("a", "1")});
  foreign.identity.image = "other";
  ASSERT_TRUE(write_file_atomic(path, encode_build_record(foreign)));
  auto r = read_build_record(root, identity());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().to_string().find("another environment"), std::string::npos);

  // A new build's record replaces it.
  ASSERT_TRUE(write_build_record(root, record({conda("a", "1")})));
  auto fixed = read_build_record(root, identity());
  ASSERT_TRUE(fixed && *fixed);
}

}  // namespace
}  // namespace de::build
