// OCI artifacts in a layout directory: written and read back with their bytes, beside other
// entries, replaced by name without rewriting blobs the layout has, refused when they are images
// or damaged, and readable by skopeo.
#include "docker_envs/oci/layout_artifact.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/subprocess.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/media_types.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kConfigType = "application/vnd.docker-envs.build-cache.config.v1+json";
constexpr std::string_view kArtifactType = "application/vnd.docker-envs.build-cache.v1";

// A gzip layer blob held in memory, with its tar.
struct MemoryBlob {
  LayerBlob blob;
  std::string bytes;
  std::string tar;
};

MemoryBlob make_blob(std::string contents) {
  LayerBuilder builder({.source_date_epoch = 0});
  builder.add_contents("cache/entry.txt", std::move(contents));
  auto layer = std::move(builder).build();
  EXPECT_TRUE(layer) << layer.error().to_string();
  StringWriter out;
  auto written = write_layer_blob(**layer, Compression::Gzip, out);
  EXPECT_TRUE(written) << written.error().to_string();
  auto tar = (*layer)->open_tar();
  EXPECT_TRUE(tar);
  auto tar_bytes = read_all(**tar);
  EXPECT_TRUE(tar_bytes);
  return {*written, out.take(), *tar_bytes};
}

// A layer over `b`'s bytes that counts how often its blob is opened.
LayerPtr counted_layer(const MemoryBlob& b, std::shared_ptr<std::atomic<int>> opens) {
  return stored_blob_layer(
      b.blob.blob, b.blob.diff_id,
      [bytes = b.bytes, opens]() -> Result<std::unique_ptr<Reader>> {
        ++*opens;
        return std::unique_ptr<Reader>(std::make_unique<StringReader>(bytes));
      },
      "the test");
}

struct Artifact {
  Manifest manifest;
  std::string config;
  std::vector<LayerPtr> layers;
};

Artifact make_artifact(
    std::string config, std::span<const MemoryBlob> blobs,
    std::shared_ptr<std::atomic<int>> opens = std::make_shared<std::atomic<int>>()) {
  Artifact a;
  a.config = std::move(config);
  a.manifest.media_type = media_type::kOciManifest;
  a.manifest.artifact_type = kArtifactType;
  a.manifest.config = Descriptor{.media_type = std::string(kConfigType),
                                 .digest = Digest::of(a.config),
                                 .size = static_cast<std::int64_t>(a.config.size())};
  for (auto& b : blobs) {
    a.manifest.layers.push_back(b.blob.blob);
    a.layers.push_back(counted_layer(b, opens));
  }
  return a;
}

Result<Digest> write(const fs::path& dir, std::string_view tag, const Artifact& a) {
  return write_layout_artifact(dir, tag, a.manifest, a.config, a.layers);
}

std::string read_text(const fs::path& p) {
  auto r = read_file(p);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : std::string();
}

void overwrite(const fs::path& p, const std::string& bytes) {
  fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

nlohmann::json index_of(const fs::path& dir) {
  return nlohmann::json::parse(read_text(dir / "index.json"));
}

std::string entry_name(const nlohmann::json& entry) {
  return entry["annotations"]["org.opencontainers.image.ref.name"].get<std::string>();
}

class LayoutArtifactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create();
    ASSERT_TRUE(t);
    tmp_.emplace(std::move(*t));
    dir_ = tmp_->path() / "layout";
  }
  std::optional<TempDir> tmp_;
  fs::path dir_;
};

TEST_F(LayoutArtifactTest, RoundTripKeepsManifestConfigAndLayerBytes) {
  MemoryBlob blobs[] = {make_blob("first"), make_blob(std::string(100000, 'x'))};
  Artifact a = make_artifact(R"({"entries":2})", blobs);
  auto digest = write(dir_, "cache", a);
  ASSERT_TRUE(digest) << digest.error().to_string();
  EXPECT_EQ(*digest, Digest::of(a.manifest.to_json()));
  EXPECT_EQ(read_text(dir_ / "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");

  auto index = index_of(dir_);
  ASSERT_EQ(index["manifests"].size(), 1u);
  auto entry = index["manifests"][0];
  EXPECT_EQ(entry_name(entry), "cache");
  EXPECT_EQ(entry["mediaType"], std::string(media_type::kOciManifest));
  EXPECT_EQ(entry["artifactType"], std::string(kArtifactType));
  EXPECT_EQ(entry["digest"], digest->to_string());

  auto read = read_layout_artifact(dir_, "cache");
  ASSERT_TRUE(read) << read.error().to_string();
  ASSERT_TRUE(read->has_value());
  const LayoutArtifact& got = **read;
  EXPECT_EQ(got.manifest_digest, *digest);
  EXPECT_EQ(got.manifest.to_json(), a.manifest.to_json());
  EXPECT_EQ(got.manifest.artifact_type, kArtifactType);
  EXPECT_EQ(got.config, a.config);
  for (size_t i = 0; i < std::size(blobs); ++i) {
    LayerPtr layer = got.layer(got.manifest.layers[i], blobs[i].blob.diff_id);
    auto blob = layer->open_blob();
    ASSERT_TRUE(blob) << blob.error().to_string();
    auto blob_bytes = read_all(**blob);
    ASSERT_TRUE(blob_bytes) << blob_bytes.error().to_string();
    EXPECT_EQ(*blob_bytes, blobs[i].bytes);
    auto tar = layer->open_tar();
    ASSERT_TRUE(tar) << tar.error().to_string();
    auto tar_bytes = read_all(**tar);
    ASSERT_TRUE(tar_bytes) << tar_bytes.error().to_string();
    EXPECT_EQ(*tar_bytes, blobs[i].tar);
  }
}

TEST_F(LayoutArtifactTest, AnotherTagKeepsTheFirstAndAnImage) {
  MemoryBlob blobs[] = {make_blob("a")};
  Artifact first = make_artifact(R"({"n":1})", blobs);
  Artifact second = make_artifact(R"({"n":2})", blobs);
  ASSERT_TRUE(write_image(scratch_image(), {Transport::OciLayout, dir_.string(), "img"}));
  auto d1 = write(dir_, "one", first);
  ASSERT_TRUE(d1) << d1.error().to_string();
  auto d2 = write(dir_, "two", second);
  ASSERT_TRUE(d2) << d2.error().to_string();
  EXPECT_NE(*d1, *d2);
  EXPECT_EQ(index_of(dir_)["manifests"].size(), 3u);
  auto one = read_layout_artifact(dir_, "one");
  auto two = read_layout_artifact(dir_, "two");
  ASSERT_TRUE(one && one->has_value() && two && two->has_value());
  EXPECT_EQ((*one)->config, first.config);
  EXPECT_EQ((*two)->config, second.config);
  auto image = read_image({Transport::OciLayout, dir_.string(), "img"});
  EXPECT_TRUE(image) << image.error().to_string();
}

TEST_F(LayoutArtifactTest, RewritingATagReplacesItsEntryAndSkipsBlobsTheLayoutHas) {
  MemoryBlob blobs[] = {make_blob("kept"), make_blob("also kept")};
  auto opens = std::make_shared<std::atomic<int>>(0);
  ASSERT_TRUE(write(dir_, "cache", make_artifact(R"({"v":1})", blobs, opens)));
  EXPECT_EQ(*opens, 2);

  Artifact again = make_artifact(R"({"v":2})", blobs, opens);
  auto digest = write(dir_, "cache", again);
  ASSERT_TRUE(digest) << digest.error().to_string();
  EXPECT_EQ(*opens, 2) << "a blob the layout has was read again";
  auto index = index_of(dir_);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], digest->to_string());
  auto read = read_layout_artifact(dir_, "cache");
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ((*read)->config, again.config);

  // A blob of the wrong size (a damaged copy) is written again, verified.
  fs::path blob = dir_ / "blobs/sha256" / blobs[1].blob.blob.digest.hex();
  overwrite(blob, "short");
  ASSERT_TRUE(write(dir_, "cache", again));
  EXPECT_EQ(*opens, 3);
  EXPECT_EQ(read_text(blob), blobs[1].bytes);
}

TEST_F(LayoutArtifactTest, AbsentDirectoryOrTagIsNullopt) {
  auto none = read_layout_artifact(dir_, "cache");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_FALSE(none->has_value());
  fs::create_directories(dir_);
  none = read_layout_artifact(dir_, "cache");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_FALSE(none->has_value());

  MemoryBlob blobs[] = {make_blob("a")};
  ASSERT_TRUE(write(dir_, "cache", make_artifact("{}", blobs)));
  none = read_layout_artifact(dir_, "other");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_FALSE(none->has_value());
}

TEST_F(LayoutArtifactTest, AContainerImageIsUnsupported) {
  ASSERT_TRUE(write_image(scratch_image(), {Transport::OciLayout, dir_.string(), "img"}));
  auto read = read_layout_artifact(dir_, "img");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), Code::Unsupported);
  EXPECT_NE(read.error().to_string().find("a container image"), std::string::npos)
      << read.error().to_string();

  // And an artifact writer refuses an image config.
  Artifact a = make_artifact("{}", {});
  a.manifest.config.media_type = media_type::kOciConfig;
  auto written = write(dir_, "x", a);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code(), Code::InvalidArgument);
}

TEST_F(LayoutArtifactTest, AnIndexIsUnsupported) {
  std::vector<Image> images = {scratch_image()};
  ASSERT_TRUE(write_image_index(images, {Transport::OciLayout, dir_.string(), "multi"}));
  auto read = read_layout_artifact(dir_, "multi");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), Code::Unsupported) << read.error().to_string();
}

TEST_F(LayoutArtifactTest, ACorruptedConfigIsCorruptionNamingTheFile) {
  Artifact a = make_artifact(R"({"v":1})", {});
  ASSERT_TRUE(write(dir_, "cache", a));
  fs::path config = dir_ / "blobs/sha256" / a.manifest.config.digest.hex();
  overwrite(config, R"({"v":2})");  // same size, other bytes
  auto read = read_layout_artifact(dir_, "cache");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code(), Code::Corruption);
  EXPECT_NE(read.error().to_string().find(config.string()), std::string::npos)
      << read.error().to_string();
}

TEST_F(LayoutArtifactTest, ADamagedIndexIsAnErrorNamingIt) {
  Artifact a = make_artifact("{}", {});
  ASSERT_TRUE(write(dir_, "cache", a));
  overwrite(dir_ / "index.json", "{not json");
  auto read = read_layout_artifact(dir_, "cache");
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().to_string().find((dir_ / "index.json").string()), std::string::npos)
      << read.error().to_string();
}

TEST_F(LayoutArtifactTest, ATamperedLayerFailsWhenRead) {
  MemoryBlob blobs[] = {make_blob(std::string(5000, 'y'))};
  ASSERT_TRUE(write(dir_, "cache", make_artifact("{}", blobs)));
  fs::path blob = dir_ / "blobs/sha256" / blobs[0].blob.blob.digest.hex();
  std::string bytes = blobs[0].bytes;
  bytes[bytes.size() / 2] ^= 1;
  overwrite(blob, bytes);
  auto read = read_layout_artifact(dir_, "cache");
  ASSERT_TRUE(read && read->has_value());  // the layers are read only when opened
  LayerPtr layer = (**read).layer((**read).manifest.layers[0], blobs[0].blob.diff_id);
  auto in = layer->open_blob();
  ASSERT_TRUE(in);
  auto all = read_all(**in);
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().code(), Code::Corruption);
}

TEST_F(LayoutArtifactTest, ALayerNotMatchingItsDescriptorIsNotWritten) {
  MemoryBlob blobs[] = {make_blob("right")};
  Artifact a = make_artifact("{}", blobs);
  MemoryBlob other = make_blob("wrong");
  a.layers[0] = stored_blob_layer(
      blobs[0].blob.blob, std::nullopt,
      [bytes = other.bytes]() -> Result<std::unique_ptr<Reader>> {
        return std::unique_ptr<Reader>(std::make_unique<StringReader>(bytes));
      },
      "the test");
  auto written = write(dir_, "cache", a);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code(), Code::Corruption) << written.error().to_string();
  EXPECT_FALSE(fs::exists(dir_)) << "a layout this write created stays after a failure";
}

TEST_F(LayoutArtifactTest, ArgumentsAreChecked) {
  Artifact a = make_artifact("{}", {});
  for (std::string_view tag : {"", "../x", "a//b", "-a", "a/", "a b", "a..b", "a---b"}) {
    auto written = write(dir_, tag, a);
    ASSERT_FALSE(written) << "'" << tag << "' was accepted";
    EXPECT_EQ(written.error().code(), Code::InvalidArgument);
    auto read = read_layout_artifact(dir_, tag);
    ASSERT_FALSE(read) << "'" << tag << "' was accepted";
  }
  for (std::string_view tag : {"v1", "cache/linux-64", "a--b", "1.0+x:y@z", "A_b"})
    EXPECT_TRUE(write(dir_, tag, a)) << tag;

  Artifact wrong_config = a;
  wrong_config.config = "{ }";
  EXPECT_FALSE(write(dir_, "v1", wrong_config));
  MemoryBlob blobs[] = {make_blob("a")};
  Artifact missing_layer = make_artifact("{}", blobs);
  missing_layer.layers.clear();
  EXPECT_FALSE(write(dir_, "v1", missing_layer));
}

TEST_F(LayoutArtifactTest, SkopeoReadsTheManifest) {
  MemoryBlob blobs[] = {make_blob("for skopeo")};
  Artifact a = make_artifact(R"({"tool":"skopeo"})", blobs);
  ASSERT_TRUE(write(dir_, "cache", a));
  auto run =
      run_process("skopeo", {"skopeo", "inspect", "--raw", "oci:" + dir_.string() + ":cache"});
  if (!run && run.error().code() == Code::NotFound) GTEST_SKIP() << "skopeo is not installed";
  ASSERT_TRUE(run) << run.error().to_string();
  ASSERT_TRUE(run->succeeded()) << run->err;
  EXPECT_EQ(run->out, a.manifest.to_json());
}

}  // namespace
}  // namespace de::oci
