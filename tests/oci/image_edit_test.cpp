// An Image read from somewhere is safe to edit: the source's config and manifest bytes are used
// only while the image is still what they describe, so an edit of `config` (or of the layers)
// always reaches the written image, and an unmodified image is written back byte for byte.
#include <gtest/gtest.h>

#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "support/testdata.hpp"

namespace de::oci {
namespace {
namespace fs = std::filesystem;

Image small_image() {
  LayerBuilder builder(LayerBuildOptions{});
  builder.add_contents("etc/hello", "hello\n");
  auto layer = std::move(builder).build();
  EXPECT_TRUE(layer) << layer.error().to_string();
  Image image = scratch_image();
  image.layers.push_back(*layer);
  image.config.set_diff_ids({Digest()});  // finalised by the writer
  image.config.set_env({"PATH=/bin"});
  return image;
}

Result<Image> read_ref(const std::string& text) {
  auto ref = DE_TRY(ImageRef::parse(text));
  return read_image(ref);
}

// Uses nothing but reading, editing `config` in place and writing: the way a library user edits.
TEST(ImageEdit, DirectConfigEditReachesTheWrittenImage) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string first = "oci:" + (dir->path() / "first").string() + ":v1";
  auto written = write_image(small_image(), *ImageRef::parse(first));
  ASSERT_TRUE(written) << written.error().to_string();

  for (std::string dest : {"oci:" + (dir->path() / "edited").string() + ":v1",
                           "docker-archive:" + (dir->path() / "edited.tar").string() + ":x:v1"}) {
    SCOPED_TRACE(dest);
    auto image = read_ref(first);
    ASSERT_TRUE(image) << image.error().to_string();
    image->config.set_env_var("GREETING", "hi");
    image->config.set_label("org.example.edited", "yes");
    auto edited = write_image(*image, *ImageRef::parse(dest));
    ASSERT_TRUE(edited) << edited.error().to_string();
    EXPECT_NE(edited->config_digest, written->config_digest);

    auto back = read_ref(dest);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->config.env_var("GREETING"), "hi");
    EXPECT_EQ(back->config.labels()["org.example.edited"], "yes");
    EXPECT_EQ(back->config.env_var("PATH"), "/bin");
    ASSERT_TRUE(back->config.diff_ids());
    EXPECT_EQ(*back->config.diff_ids(), *image->config.diff_ids());
  }
}

TEST(ImageEdit, SourceBytesLastOnlyWhileTheImageIsUnchanged) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string ref = "oci:" + (dir->path() / "img").string() + ":v1";
  ASSERT_TRUE(write_image(small_image(), *ImageRef::parse(ref)));
  auto image = read_ref(ref);
  ASSERT_TRUE(image) << image.error().to_string();
  ASSERT_TRUE(image->source_config_bytes());
  ASSERT_TRUE(image->source_manifest_bytes());
  EXPECT_EQ(image->config_bytes(), std::string(*image->source_config_bytes()));

  Image config_edited = *image;
  config_edited.config.set_user("1000");
  EXPECT_FALSE(config_edited.source_config_bytes());
  EXPECT_FALSE(config_edited.source_manifest_bytes());
  EXPECT_EQ(config_edited.config_bytes(), config_edited.config.to_json());
  // Undoing the edit makes the bytes valid again: they describe the image once more.
  config_edited.config = image->config;
  EXPECT_TRUE(config_edited.source_config_bytes());

  Image layers_edited = *image;
  layers_edited.layers.push_back(image->layers[0]);
  EXPECT_TRUE(layers_edited.source_config_bytes());  // the config itself is unchanged
  EXPECT_FALSE(layers_edited.source_manifest_bytes());

  Image annotated = *image;
  annotated.annotations["org.example"] = "x";
  EXPECT_FALSE(annotated.source_manifest_bytes());

  Image forgotten = *image;
  forgotten.forget_source_bytes();
  EXPECT_FALSE(forgotten.source_config_bytes());
  EXPECT_TRUE(image->source_config_bytes());  // copies do not share the decision
}

// A `docker save` config is not in canonical form; an unmodified copy keeps it byte for byte (and
// so keeps the image ID), an edited one is re-serialised.
TEST(ImageEdit, UnmodifiedDockerArchiveKeepsItsConfigDigest) {
  DE_REQUIRE_TESTDATA();
  fs::path archive = test::testdata_dir() / "docker/docker-archive/dive/test-docker-image.tar";
  auto image = read_ref("docker-archive:" + archive.string());
  ASSERT_TRUE(image) << image.error().to_string();
  auto source = image->source_config_bytes();
  ASSERT_TRUE(source);
  std::string stored(*source);
  ASSERT_NE(stored, image->config.to_json()) << "the fixture's config is canonical already";

  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto copied = write_image(*image, *ImageRef::parse("oci:" + (dir->path() / "copy").string()));
  ASSERT_TRUE(copied) << copied.error().to_string();
  EXPECT_EQ(copied->config_digest, Digest::of(stored));

  image->config.set_env_var("GREETING", "hi");
  auto edited = write_image(*image, *ImageRef::parse("oci:" + (dir->path() / "edit").string()));
  ASSERT_TRUE(edited) << edited.error().to_string();
  EXPECT_EQ(edited->config_digest, Digest::of(image->config.to_json()));
}

}  // namespace
}  // namespace de::oci
