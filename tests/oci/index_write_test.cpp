// write_image_index: several platforms under one image index, read back per platform.
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/filesystem.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::oci {
namespace {

Image image_for(const std::string& arch) {
  Image image = scratch_image();
  image.config.set_platform(Platform{.os = "linux", .architecture = arch});
  LayerBuilder b({});
  b.add_contents("arch.txt", arch);
  auto layer = std::move(b).build();
  EXPECT_TRUE(layer);
  return append_layer(std::move(image), *layer, {});
}

TEST(ImageIndexWrite, EveryPlatformReadsBack) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::vector<Image> images = {image_for("amd64"), image_for("arm64")};
  for (auto transport : {Transport::OciLayout, Transport::OciArchive}) {
    ImageRef ref{transport,
                 (dir->path() / (transport == Transport::OciLayout ? "dir" : "a.tar")).string(),
                 "v1"};
    auto written = write_image_index(images, ref);
    ASSERT_TRUE(written) << written.error().to_string();
    EXPECT_EQ(written->layers.size(), 2u);
    // Each platform's manifest digest, in the index's order.
    ASSERT_EQ(written->manifests.size(), 2u);
    if (transport == Transport::OciLayout) {
      auto bytes =
          read_file(dir->path() / "dir" / "blobs" / "sha256" / written->manifest_digest.hex());
      ASSERT_TRUE(bytes) << bytes.error().to_string();
      auto index = Index::parse(*bytes);
      ASSERT_TRUE(index) << index.error().to_string();
      ASSERT_EQ(index->manifests.size(), 2u);
      EXPECT_EQ(index->manifests[0].digest, written->manifests[0]);
      EXPECT_EQ(index->manifests[1].digest, written->manifests[1]);
      EXPECT_EQ(index->manifests[1].platform->architecture, "arm64");
    }
    for (const std::string arch : {"amd64", "arm64"}) {
      auto read = read_image(ref, {.platform = Platform{.os = "linux", .architecture = arch}});
      ASSERT_TRUE(read) << read.error().to_string();
      EXPECT_EQ(read->config.platform().architecture, arch);
      auto files = list_layer(*read->layers.at(0));
      ASSERT_TRUE(files);
      EXPECT_EQ(files->at(0).path, "arch.txt");
      EXPECT_EQ(files->at(0).size, arch.size());
    }
  }
  // Same inputs, same index digest; docker-archive cannot hold an index.
  auto again =
      write_image_index(images, {Transport::OciLayout, (dir->path() / "dir2").string(), "v1"});
  auto first =
      write_image_index(images, {Transport::OciLayout, (dir->path() / "dir3").string(), "v1"});
  ASSERT_TRUE(again && first);
  EXPECT_EQ(again->manifest_digest, first->manifest_digest);
  auto refused =
      write_image_index(images, {Transport::DockerArchive, (dir->path() / "d.tar").string(), ""});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("OCI layout"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir->path() / "d.tar"));
}

// read_image_set: an index is read whole, each image with its platform, and a copy of the set
// writes the same index again (issue 13 item 13).
TEST(ImageIndexRead, TheWholeIndexReadsBackAndCopiesUnchanged) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::vector<Image> images = {image_for("amd64"), image_for("arm64")};
  ImageRef ref{Transport::OciLayout, (dir->path() / "multi").string(), ""};
  auto written = write_image_index(images, ref);
  ASSERT_TRUE(written) << written.error().to_string();
  auto set = read_image_set(ref);
  ASSERT_TRUE(set) << set.error().to_string();
  EXPECT_TRUE(set->index);
  ASSERT_EQ(set->images.size(), 2u);
  EXPECT_EQ(set->platforms.at(0).to_string(), "linux/amd64");
  EXPECT_EQ(set->platforms.at(1).to_string(), "linux/arm64");
  EXPECT_EQ(set->images[1].config.platform().architecture, "arm64");
  ImageRef copy{Transport::OciArchive, (dir->path() / "copy.tar").string(), ""};
  auto copied = write_image_index(set->images, copy);
  ASSERT_TRUE(copied) << copied.error().to_string();
  EXPECT_EQ(copied->manifest_digest, written->manifest_digest);
  EXPECT_EQ(copied->manifests, written->manifests);

  // A single image is a set of one, not an index.
  ImageRef single{Transport::OciLayout, (dir->path() / "single").string(), ""};
  ASSERT_TRUE(write_image(images[1], single));
  auto one = read_image_set(single);
  ASSERT_TRUE(one) << one.error().to_string();
  EXPECT_FALSE(one->index);
  ASSERT_EQ(one->images.size(), 1u);
  EXPECT_EQ(one->platforms.at(0).architecture, "arm64");
}

}  // namespace
}  // namespace de::oci
