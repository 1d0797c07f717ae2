// Writing an unedited image keeps the manifest (and index) bytes its source stored, Docker media
// types and formatting included, so copies keep their digests; an edit, a recompression or
// keep_source_manifests = false derives OCI documents instead.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image_parts.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::oci {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

Image image_for(const std::string& arch) {
  Image image = scratch_image();
  image.config.set_platform(Platform{.os = "linux", .architecture = arch});
  LayerBuilder b({});
  b.add_contents("arch.txt", arch);
  auto layer = std::move(b).build();
  EXPECT_TRUE(layer);
  return append_layer(std::move(image), *layer, {});
}

std::string blob(const fs::path& layout, const Digest& d) {
  auto bytes = read_file(layout / "blobs" / "sha256" / d.hex());
  EXPECT_TRUE(bytes) << bytes.error().to_string();
  return bytes.value_or("");
}

Descriptor put_blob(const fs::path& layout, const std::string& bytes, std::string media_type) {
  Descriptor d{.media_type = std::move(media_type),
               .digest = Digest::of(bytes),
               .size = static_cast<std::int64_t>(bytes.size())};
  EXPECT_TRUE(write_file_atomic(layout / "blobs" / "sha256" / d.digest.hex(), bytes));
  return d;
}

// Rewrites an OCI manifest the way a registry might store a Docker image: Docker media types,
// indented (as Go's json.MarshalIndent writes), so no writer of ours would produce these bytes.
std::string docker_manifest(const std::string& oci) {
  json m = json::parse(oci);
  m["mediaType"] = media_type::kDockerManifest;
  m["config"]["mediaType"] = media_type::kDockerConfig;
  for (auto& l : m["layers"]) l["mediaType"] = media_type::kDockerLayerGzip;
  return m.dump(3);
}

void set_index_json(const fs::path& layout, const Descriptor& top) {
  json entry = top.to_json();
  json index = {{"schemaVersion", 2},
                {"mediaType", media_type::kOciIndex},
                {"manifests", json::array({entry})}};
  ASSERT_TRUE(write_file_atomic(layout / "index.json", index.dump()));
}

// A layout holding `image_for(arch)` under a Docker schema 2 manifest; returns its descriptor.
Descriptor docker_layout(const fs::path& layout, const std::string& arch) {
  auto written = write_image(image_for(arch), {Transport::OciLayout, layout.string(), ""});
  EXPECT_TRUE(written) << written.error().to_string();
  std::string manifest = docker_manifest(blob(layout, written->manifest_digest));
  Descriptor d = put_blob(layout, manifest, std::string(media_type::kDockerManifest));
  set_index_json(layout, d);
  return d;
}

Descriptor top_entry(const fs::path& layout) {
  auto index = Index::parse(*read_file(layout / "index.json"));
  EXPECT_TRUE(index) << index.error().to_string();
  EXPECT_EQ(index->manifests.size(), 1u);
  return index->manifests.at(0);
}

TEST(KeepManifest, UneditedDockerImageKeepsItsManifestBytes) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path src = dir->path() / "src";
  Descriptor source = docker_layout(src, "amd64");
  auto image = read_image({Transport::OciLayout, src.string(), ""});
  ASSERT_TRUE(image) << image.error().to_string();

  for (auto transport : {Transport::OciLayout, Transport::OciArchive}) {
    fs::path out = dir->path() / (transport == Transport::OciLayout ? "copy" : "copy.tar");
    auto written = write_image(*image, {transport, out.string(), ""});
    ASSERT_TRUE(written) << written.error().to_string();
    EXPECT_EQ(written->manifest_digest, source.digest);
    auto back = read_image({transport, out.string(), ""});
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->source_manifest_media_type, media_type::kDockerManifest);
    ASSERT_TRUE(back->source_manifest_bytes());
    EXPECT_EQ(Digest::of(*back->source_manifest_bytes()), source.digest);
  }
  Descriptor top = top_entry(dir->path() / "copy");
  EXPECT_EQ(top.media_type, media_type::kDockerManifest);
  EXPECT_EQ(top.digest, source.digest);
  EXPECT_EQ(blob(dir->path() / "copy", source.digest), blob(src, source.digest));
}

TEST(KeepManifest, ConversionEditsAndRecompressionDeriveAnOciManifest) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path src = dir->path() / "src";
  Descriptor source = docker_layout(src, "amd64");
  auto image = read_image({Transport::OciLayout, src.string(), ""});
  ASSERT_TRUE(image) << image.error().to_string();

  // --format oci: same config bytes (so the same image ID), an OCI manifest.
  auto converted = write_image(*image, {Transport::OciLayout, (dir->path() / "oci").string(), ""},
                               {.keep_source_manifests = false});
  ASSERT_TRUE(converted) << converted.error().to_string();
  EXPECT_NE(converted->manifest_digest, source.digest);
  EXPECT_EQ(top_entry(dir->path() / "oci").media_type, media_type::kOciManifest);
  EXPECT_EQ(converted->config_digest, Digest::of(image->config_bytes()));

  // An edited config.
  Image edited = *image;
  edited.config.set_env_var("X", "1");
  auto e = write_image(edited, {Transport::OciLayout, (dir->path() / "edited").string(), ""});
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_NE(e->manifest_digest, source.digest);
  EXPECT_EQ(top_entry(dir->path() / "edited").media_type, media_type::kOciManifest);

  // Layers recompressed (the blobs are new, so the source's manifest no longer describes them).
  auto z = write_image(*image, {Transport::OciLayout, (dir->path() / "zstd").string(), ""},
                       {.compression = Compression::Zstd, .keep_compressed = false});
  ASSERT_TRUE(z) << z.error().to_string();
  EXPECT_NE(z->manifest_digest, source.digest);
  EXPECT_EQ(top_entry(dir->path() / "zstd").media_type, media_type::kOciManifest);

  // The helper itself: a config other than the one the manifest lists is not described by it.
  std::vector<LayerBlob> layers;
  for (auto& l : image->layers) layers.push_back(LayerBlob{*l->blob(), *l->diff_id()});
  EXPECT_TRUE(kept_source_manifest(*image, image->config_bytes(), layers));
  EXPECT_FALSE(kept_source_manifest(*image, image->config_bytes() + " ", layers));
  EXPECT_FALSE(kept_source_manifest(*image, image->config_bytes(), {}));
}

// A Docker manifest list over two Docker manifests plus an entry that is not an image (as
// buildkit's attestations), indented: written back whole, it keeps its digest.
TEST(KeepManifest, UneditedIndexKeepsItsBytes) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path src = dir->path() / "src";
  Descriptor amd = docker_layout(src, "amd64");
  // The arm64 image in its own layout, then its blobs moved over.
  fs::path arm_dir = dir->path() / "arm";
  Descriptor arm = docker_layout(arm_dir, "arm64");
  for (auto& e : fs::directory_iterator(arm_dir / "blobs" / "sha256"))
    fs::copy_file(e.path(), src / "blobs" / "sha256" / e.path().filename(),
                  fs::copy_options::skip_existing);
  amd.platform = Platform{.os = "linux", .architecture = "amd64"};
  arm.platform = Platform{.os = "linux", .architecture = "arm64"};
  std::string statement = R"({"_type":"https://in-toto.io/Statement/v0.1"})";
  Descriptor layer = put_blob(src, statement, "application/vnd.in-toto+json");
  Descriptor config = put_blob(src, "{}", std::string(media_type::kOciConfig));
  json attestation = {{"schemaVersion", 2},
                      {"mediaType", media_type::kOciManifest},
                      {"config", config.to_json()},
                      {"layers", json::array({layer.to_json()})}};
  Descriptor att = put_blob(src, attestation.dump(2), std::string(media_type::kOciManifest));
  att.platform = Platform{.os = "unknown", .architecture = "unknown"};

  json list = {{"schemaVersion", 2},
               {"mediaType", media_type::kDockerManifestList},
               {"manifests", json::array({amd.to_json(), arm.to_json(), att.to_json()})}};
  auto source = std::make_shared<SourceIndex>(
      SourceIndex{.media_type = std::string(media_type::kDockerManifestList), .bytes = list.dump(3)});
  source->other_blobs[att.digest] = attestation.dump(2);
  source->other_blobs[layer.digest] = statement;
  source->other_blobs[config.digest] = "{}";
  Digest list_digest = Digest::of(source->bytes);

  std::vector<Image> images;
  for (const std::string arch : {"amd64", "arm64"}) {
    fs::path from = arch == "amd64" ? src : arm_dir;
    auto image = read_image({Transport::OciLayout, from.string(), ""});
    ASSERT_TRUE(image) << image.error().to_string();
    images.push_back(*image);
  }
  fs::path out = dir->path() / "out";
  auto written = write_image_index(images, {Transport::OciLayout, out.string(), "v1"},
                                   {.source_index = source});
  ASSERT_TRUE(written) << written.error().to_string();
  EXPECT_EQ(written->manifest_digest, list_digest);
  Descriptor top = top_entry(out);
  EXPECT_EQ(top.media_type, media_type::kDockerManifestList);
  EXPECT_EQ(top.digest, list_digest);
  for (auto& d : {amd.digest, arm.digest, att.digest, layer.digest, config.digest})
    EXPECT_EQ(Digest::of(blob(out, d)), d);
  // Read back per platform.
  auto arm_back = read_image({Transport::OciLayout, out.string(), "v1"},
                             {.platform = Platform{.os = "linux", .architecture = "arm64"}});
  ASSERT_TRUE(arm_back) << arm_back.error().to_string();
  EXPECT_EQ(arm_back->config.platform().architecture, "arm64");

  // An index whose entries are not all written (one image missing) is derived, as is
  // --format oci.
  fs::path partial = dir->path() / "partial";
  auto one = write_image_index(std::span(images).first(1),
                               {Transport::OciLayout, partial.string(), ""},
                               {.source_index = source});
  ASSERT_TRUE(one) << one.error().to_string();
  EXPECT_NE(one->manifest_digest, list_digest);
  EXPECT_EQ(top_entry(partial).media_type, media_type::kOciIndex);
  auto converted = write_image_index(images, {Transport::OciLayout, (dir->path() / "c").string(), ""},
                                     {.keep_source_manifests = false, .source_index = source});
  ASSERT_TRUE(converted) << converted.error().to_string();
  EXPECT_NE(converted->manifest_digest, list_digest);
  EXPECT_EQ(top_entry(dir->path() / "c").media_type, media_type::kOciIndex);
}

// An OCI layout whose index was written by another tool (indented, annotated, an arm64 entry
// saying more than its config: the variant, and an attestation entry): read whole and written
// back unedited it keeps the index's bytes and digest; an edit of one platform derives an index
// that keeps the other manifest, the entries' platforms, and the right digests and sizes (issue 13
// item 13).
TEST(KeepManifest, UneditedLayoutIndexIsCopiedWithItsDigest) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path src = dir->path() / "src";
  std::vector<Image> images = {image_for("amd64"), image_for("arm64")};
  auto written = write_image_index(images, {Transport::OciLayout, src.string(), ""});
  ASSERT_TRUE(written) << written.error().to_string();
  json index = json::parse(blob(src, written->manifest_digest));
  index["manifests"][1]["platform"]["variant"] = "v8";  // the config has none
  index["annotations"] = {{"org.example.built-by", "another tool"}};
  std::string statement = R"({"_type":"https://in-toto.io/Statement/v0.1"})";
  Descriptor layer = put_blob(src, statement, "application/vnd.in-toto+json");
  Descriptor config = put_blob(src, "{}", std::string(media_type::kOciConfig));
  json attestation = {{"schemaVersion", 2},
                      {"mediaType", media_type::kOciManifest},
                      {"config", config.to_json()},
                      {"layers", json::array({layer.to_json()})}};
  Descriptor att = put_blob(src, attestation.dump(2), std::string(media_type::kOciManifest));
  att.platform = Platform{.os = "unknown", .architecture = "unknown"};
  index["manifests"].push_back(att.to_json());
  Descriptor top = put_blob(src, index.dump(4), std::string(media_type::kOciIndex));
  set_index_json(src, top);

  for (auto transport : {Transport::OciLayout, Transport::OciArchive}) {
    fs::path from = src;
    if (transport == Transport::OciArchive) {
      from = dir->path() / "src.tar";
      // The same index in an oci-archive (written by an unedited copy, checked below).
      auto set = read_image_set({Transport::OciLayout, src.string(), ""});
      ASSERT_TRUE(set) << set.error().to_string();
      ASSERT_TRUE(write_image_index(set->images, {transport, from.string(), ""},
                                    {.source_index = set->source_index}));
    }
    auto set = read_image_set({transport, from.string(), ""});
    ASSERT_TRUE(set) << set.error().to_string();
    ASSERT_TRUE(set->index);
    ASSERT_TRUE(set->source_index) << "the layout's index is kept with the set";
    EXPECT_EQ(Digest::of(set->source_index->bytes), top.digest);
    ASSERT_EQ(set->images.size(), 2u);
    ASSERT_TRUE(set->images[1].index_platform);
    EXPECT_EQ(set->images[1].index_platform->variant, "v8");
    EXPECT_EQ(set->images[1].config.platform().variant, "");

    fs::path out = dir->path() / (transport == Transport::OciLayout ? "copy" : "copy-from-tar");
    auto copied = write_image_index(set->images, {Transport::OciLayout, out.string(), ""},
                                    {.source_index = set->source_index});
    ASSERT_TRUE(copied) << copied.error().to_string();
    EXPECT_EQ(copied->manifest_digest, top.digest);
    EXPECT_EQ(top_entry(out).digest, top.digest);
    EXPECT_EQ(blob(out, top.digest), index.dump(4));
    for (auto& d : {att.digest, layer.digest, config.digest, written->manifests[0],
                    written->manifests[1]})
      EXPECT_EQ(Digest::of(blob(out, d)), d);
  }

  // An edit of arm64 only: a derived index over the unchanged amd64 manifest and a new arm64 one,
  // listed with the source's platform (variant v8); the attestation no longer describes it.
  auto set = read_image_set({Transport::OciLayout, src.string(), ""});
  ASSERT_TRUE(set) << set.error().to_string();
  set->images[1].config.set_env_var("EDITED", "1");
  fs::path edited = dir->path() / "edited";
  auto e = write_image_index(set->images, {Transport::OciLayout, edited.string(), ""},
                             {.source_index = set->source_index});
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_NE(e->manifest_digest, top.digest);
  auto derived = Index::parse(blob(edited, e->manifest_digest));
  ASSERT_TRUE(derived) << derived.error().to_string();
  ASSERT_EQ(derived->manifests.size(), 2u);
  EXPECT_EQ(derived->manifests[0].digest, written->manifests[0]);
  EXPECT_NE(derived->manifests[1].digest, written->manifests[1]);
  EXPECT_EQ(derived->manifests[1].digest, e->manifests[1]);
  for (auto& d : derived->manifests) {
    std::string bytes = blob(edited, d.digest);
    EXPECT_EQ(Digest::of(bytes), d.digest);
    EXPECT_EQ(static_cast<std::int64_t>(bytes.size()), d.size);
  }
  ASSERT_TRUE(derived->manifests[1].platform);
  EXPECT_EQ(derived->manifests[1].platform->to_string(), "linux/arm64/v8");
  EXPECT_EQ(derived->manifests[0].platform->to_string(), "linux/amd64");
}

}  // namespace
}  // namespace de::oci
