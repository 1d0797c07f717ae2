// Reading every image shape in the shared test data, and writing docker-archive / OCI layout /
// oci-archive output that reads back identically and deterministically.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "docker_envs/base/parallel.hpp"
#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "docker_envs/oci/tar.hpp"
#include "support/testdata.hpp"

namespace de::oci {
namespace {
namespace fs = std::filesystem;

// A small in-memory layer made with TarWriter.
class MemoryLayer final : public Layer {
 public:
  explicit MemoryLayer(std::vector<std::pair<std::string, std::string>> files) {
    StringWriter out;
    TarWriter tar(out);
    for (auto& [path, content] : files) {
      TarEntry e{.path = path, .type = EntryType::File, .mode = 0644, .size = content.size()};
      StringReader data(content);
      EXPECT_TRUE(tar.add(e, &data));
    }
    EXPECT_TRUE(tar.finish());
    tar_ = out.take();
  }
  std::optional<Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return std::nullopt; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "no blob");
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(tar_));
  }
  std::optional<std::uint64_t> tar_size() const override { return tar_.size(); }
  std::string describe() const override { return "memory layer"; }
  const std::string& tar() const { return tar_; }

 private:
  std::string tar_;
};

Image sample_image() {
  Image image = scratch_image();
  image.layers.push_back(std::make_shared<MemoryLayer>(
      std::vector<std::pair<std::string, std::string>>{{"etc/hello", "hello\n"}}));
  image.layers.push_back(std::make_shared<MemoryLayer>(
      std::vector<std::pair<std::string, std::string>>{{"bin/tool", std::string(100000, 'x')}}));
  image.config.set_env({"PATH=/bin"});
  return image;
}

// Reads every layer completely: verifies blob digests and diffIDs along the way.
Status read_all_layers(const Image& image) {
  for (auto& layer : image.layers) {
    auto tar = DE_TRY(layer->open_tar());
    NullWriter null;
    DE_TRY(copy(*tar, null));
  }
  return {};
}

Result<Image> read(const std::string& ref) {
  auto r = DE_TRY(ImageRef::parse(ref));
  return read_image(r);
}

TEST(Manifest, SchemaVersionIsExactlyTwo) {
  auto manifest = [](std::string_view version) {
    return fmt::format(
        R"({{"schemaVersion": {}, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": "{}", "size": 2}}, "layers": []}})",
        version, Digest::of("{}").to_string());
  };
  auto ok = Manifest::parse(manifest("2"));
  ASSERT_TRUE(ok) << ok.error().to_string();
  // 2^32 + 2 is not 2 (an int conversion would wrap it to 2); nor are 2.5, 1e300 or "2".
  for (const char* bad : {"4294967298", "2.5", "1e300", "-2", "\"2\"", "1"}) {
    auto r = Manifest::parse(manifest(bad));
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::Corruption) << bad;
    }
  }
}

TEST(Transport, ParsesReferences) {
  auto r = ImageRef::parse("docker-archive:/tmp/a.tar:busybox:1.36");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transport, Transport::DockerArchive);
  EXPECT_EQ(r->path, "/tmp/a.tar");
  EXPECT_EQ(r->selector, "busybox:1.36");
  EXPECT_EQ(r->to_string(), "docker-archive:/tmp/a.tar:busybox:1.36");
  r = ImageRef::parse("oci:dir:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->transport, Transport::OciLayout);
  EXPECT_EQ(r->selector, "v1");
  EXPECT_EQ(ImageRef::parse("scratch")->transport, Transport::Scratch);
  EXPECT_EQ(ImageRef::parse("image.tar")->transport, Transport::Auto);
  EXPECT_FALSE(ImageRef::parse("oci:"));
  EXPECT_FALSE(ImageRef::parse("oci:dir:"));
  EXPECT_FALSE(ImageRef::parse(""));
}

// A mistyped transport is an error listing the transports, never a local path of that name.
TEST(Transport, UnknownTransportsAreErrors) {
  for (std::string text : {"dockr://host/a:b", "docker-archiv:x.tar", "oci-archve:x.tar",
                           "OCI:dir", "myimage:latest", "C:/x", "x_1-2:y"}) {
    auto r = ImageRef::parse(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << text;
    EXPECT_NE(r.error().message().find("unknown transport"), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find("oci-archive:PATH"), std::string::npos)
        << r.error().message();
  }
  EXPECT_NE(ImageRef::parse("dockr://h/a:b").error().message().find("did you mean 'docker://'"),
            std::string::npos);
  EXPECT_NE(ImageRef::parse("docker-archiv:x.tar").error().message().find("'docker-archive:'"),
            std::string::npos);
  EXPECT_NE(ImageRef::parse("myimage:latest").error().message().find("docker://myimage:latest"),
            std::string::npos);
  // What does not look like a transport stays a path.
  for (std::string text : {"image.tar", "./dockr:x", "/abs/a:b", "../a:b", "dir/x:y", "a.b:c",
                           "out/name:tag.tar"}) {
    auto r = ImageRef::parse(text);
    ASSERT_TRUE(r) << text << ": " << r.error().to_string();
    EXPECT_EQ(r->transport, Transport::Auto) << text;
    EXPECT_EQ(r->path, text);
  }
  // An existing file may be named so.
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::error_code ec;
  fs::path cwd = fs::current_path();
  fs::current_path(dir->path());
  { std::ofstream("weird:name.tar") << "x"; }
  auto existing = ImageRef::parse("weird:name.tar");
  fs::current_path(cwd);
  ASSERT_TRUE(existing) << existing.error().to_string();
  EXPECT_EQ(existing->path, "weird:name.tar");
}

TEST(DockerArchiveRead, EveryTestdataArchive) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = test::testdata_dir() / "docker" / "docker-archive";
  struct Case {
    std::string file, selector;
    size_t layers;
  };
  std::vector<Case> cases = {
      {"ggcr/test_image_1.tar", "", 1},
      {"ggcr/test_image_2.tar", "", 1},
      {"ggcr/test_load_manifest.tar", "", 1},
      {"ggcr/test_bundle.tar", "test_image_2", 1},
      {"ggcr/test_bundle.tar", "@1", 1},
      {"ggcr/test_link.tar", "bazel/v1/tarball:test_image_3", 2},
      {"ggcr/test_link.tar", "@0", 1},
      {"ggcr/no_manifest.tar", "", 1},
      {"ggcr/hello-world-v25.tar", "", 1},
      {"ggcr/mutate_whiteout_image.tar", "", 3},
      {"ggcr/mutate_whiteout_dir.tar", "", 4},
      {"ggcr/mutate_overwritten_file.tar", "", 3},
      {"ggcr/mutate_source_image.tar", "", 1},
      {"ggcr/mutate_source_image_with_empty_layer_history.tar", "", 1},
      {"containers-image/almostempty.tar", "", 1},
      {"dive/test-docker-image.tar", "", 14},
      {"dive/test-kaniko-image.tar", "", 14},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.file + " " + c.selector);
    std::string ref = "docker-archive:" + (dir / c.file).string();
    if (!c.selector.empty()) ref += ":" + c.selector;
    auto image = read(ref);
    ASSERT_TRUE(image) << image.error().to_string();
    EXPECT_EQ(image->layers.size(), c.layers);
    auto status = read_all_layers(*image);
    EXPECT_TRUE(status) << status.error().to_string();
    // Auto-detection by content gives the same image.
    if (c.selector.empty()) {
      auto autod = read((dir / c.file).string());
      ASSERT_TRUE(autod) << autod.error().to_string();
      EXPECT_EQ(autod->config_bytes(), image->config_bytes());
    }
  }
}

TEST(DockerArchiveRead, RefusesBrokenArchivesClearly) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = test::testdata_dir() / "docker" / "docker-archive" / "ggcr";
  auto null_manifest = read("docker-archive:" + (dir / "null_manifest.tar").string());
  ASSERT_FALSE(null_manifest);
  EXPECT_NE(null_manifest.error().to_string().find("null"), std::string::npos);
  auto ambiguous = read("docker-archive:" + (dir / "test_bundle.tar").string());
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().to_string().find("test_image_2"), std::string::npos)
      << ambiguous.error().to_string();
  auto missing = read("docker-archive:" + (dir / "test_bundle.tar").string() + ":nope:1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
}

TEST(OciLayoutRead, TestdataLayoutsAndArchives) {
  DE_REQUIRE_TESTDATA();
  fs::path base = test::testdata_dir() / "docker";
  struct Case {
    std::string ref;
    bool readable;
  };
  std::vector<Case> cases = {
      {"oci-archive:" + (base / "oci-archive/dive/test-oci-gzip-image.tar").string(), true},
      {"oci-archive:" + (base / "oci-archive/dive/test-oci-zstd-image.tar").string(), true},
      {"oci-archive:" + (base / "oci-archive/dive/test-oci-estargz-image.tar").string(), true},
      {"oci-archive:" + (base / "oci-archive/dive/test-oci-uncompressed-image.tar").string(), true},
      {"oci:" + (base / "oci-layout/ggcr_test_index_one_image").string(), true},
      {"oci:" + (base / "oci-layout/containers-image_delete_image_only_one_image").string() + ":latest", false},  // descriptor sizes are fake in this fixture
      {"oci:" + (base / "oci-layout/ggcr_test_gc_image_unknown_mediatype").string(), false},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.ref);
    auto image = read(c.ref);
    if (!c.readable) {
      ASSERT_FALSE(image);
      continue;
    }
    ASSERT_TRUE(image) << image.error().to_string();
    auto status = read_all_layers(*image);
    EXPECT_TRUE(status) << status.error().to_string();
  }
}

// Issue 13 item 4: an index selector beyond any integer type aborted the process (an uncaught
// std::out_of_range from stoul). Every malformed or out-of-range index is a NotFound error.
TEST(DockerArchiveRead, IndexSelectorOutOfRangeIsAnError) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string path = (dir->path() / "one.tar").string();
  auto written = write_image(sample_image(), *ImageRef::parse("docker-archive:" + path + ":a:b"));
  ASSERT_TRUE(written) << written.error().to_string();
  ASSERT_TRUE(read("docker-archive:" + path + ":@0"));
  for (std::string selector : {"@99999999999999999999999", "@18446744073709551616",
                               "@18446744073709551615", "@1", "@-1", "@+0", "@0x0"}) {
    SCOPED_TRACE(selector);
    auto image = read("docker-archive:" + path + ":" + selector);
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().code(), Code::NotFound) << image.error().to_string();
    EXPECT_NE(image.error().to_string().find("has no image " + selector), std::string::npos)
        << image.error().to_string();
  }
}

class WriteRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(WriteRoundTrip, ReadsBackAndIsDeterministic) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  Image image = sample_image();
  std::string kind = GetParam();
  auto dest = [&](const std::string& name) {
    std::string path = (dir->path() / name).string();
    if (kind == "oci") return "oci:" + path + ":v1";
    if (kind == "oci-archive") return "oci-archive:" + path + ".tar:v1";
    return "docker-archive:" + path + ".tar:example/app:v1";
  };
  WriteOptions options;
  auto a = write_image(image, *ImageRef::parse(dest("a")), options);
  ASSERT_TRUE(a) << a.error().to_string();
  auto b = write_image(image, *ImageRef::parse(dest("b")), options);
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ(a->manifest_digest, b->manifest_digest);
  EXPECT_EQ(a->config_digest, b->config_digest);
  if (kind != "oci") {
    auto bytes_a = read_file(dir->path() / "a.tar", 1 << 30);
    auto bytes_b = read_file(dir->path() / "b.tar", 1 << 30);
    ASSERT_TRUE(bytes_a && bytes_b);
    EXPECT_EQ(Digest::of(*bytes_a), Digest::of(*bytes_b));
  }

  auto back = read(dest("a"));
  ASSERT_TRUE(back) << back.error().to_string();
  ASSERT_EQ(back->layers.size(), 2u);
  auto diff_ids = back->config.diff_ids();
  ASSERT_TRUE(diff_ids);
  EXPECT_EQ((*diff_ids)[0], Digest::of(static_cast<const MemoryLayer&>(*image.layers[0]).tar()));
  EXPECT_EQ(back->config.env(), std::vector<std::string>{"PATH=/bin"});
  ASSERT_TRUE(read_all_layers(*back));

  // Copying what was read keeps every digest.
  auto c = write_image(*back, *ImageRef::parse(dest("c")), options);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->manifest_digest, a->manifest_digest);
  EXPECT_EQ(c->config_digest, a->config_digest);
}

INSTANTIATE_TEST_SUITE_P(Formats, WriteRoundTrip,
                         ::testing::Values("oci", "oci-archive", "docker-archive"));

TEST(WriteImage, ZstdLayersInOciLayout) {
  auto dir = TempDir::create();
  Image image = sample_image();
  auto ref = *ImageRef::parse("oci:" + (dir->path() / "z").string());
  auto written = write_image(image, ref, WriteOptions{.compression = Compression::Zstd});
  ASSERT_TRUE(written) << written.error().to_string();
  for (auto& l : written->layers) EXPECT_EQ(l.media_type, media_type::kOciLayerZstd);
  auto back = read_image(ref);
  ASSERT_TRUE(back);
  EXPECT_TRUE(read_all_layers(*back));
}

TEST(ReadImage, DetectsTamperedBlob) {
  auto dir = TempDir::create();
  Image image = sample_image();
  fs::path layout = dir->path() / "t";
  auto written = write_image(image, *ImageRef::parse("oci:" + layout.string()),
                             WriteOptions{.compression = Compression::None});
  ASSERT_TRUE(written);
  fs::path blob = layout / "blobs" / "sha256" / written->layers[0].digest.hex();
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(600);
    f.put('Z');
  }
  auto back = read_image(*ImageRef::parse("oci:" + layout.string()));
  ASSERT_TRUE(back);
  auto status = read_all_layers(*back);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), Code::Corruption);
  EXPECT_NE(status.error().to_string().find("digest"), std::string::npos);

  // A manifest naming a missing blob.
  fs::remove(blob);
  back = read_image(*ImageRef::parse("oci:" + layout.string()));
  ASSERT_TRUE(back);
  status = read_all_layers(*back);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), Code::NotFound);
}

TEST(WriteImage, FailureLeavesNoOutput) {
  auto dir = TempDir::create();
  // A layer whose bytes do not match its declared diffID.
  class LyingLayer final : public Layer {
   public:
    std::optional<Descriptor> blob() const override { return std::nullopt; }
    std::optional<Digest> diff_id() const override { return Digest::of("something else"); }
    Result<std::unique_ptr<Reader>> open_blob() const override {
      return fail(Code::Unsupported, "none");
    }
    Result<std::unique_ptr<Reader>> open_tar() const override {
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(std::string(1024, '\0')));
    }
    std::string describe() const override { return "lying layer"; }
  };
  Image image = scratch_image();
  image.layers.push_back(std::make_shared<LyingLayer>());
  for (std::string ref : {"oci:" + (dir->path() / "o").string(),
                          "oci-archive:" + (dir->path() / "o.tar").string(),
                          "docker-archive:" + (dir->path() / "d.tar").string()}) {
    SCOPED_TRACE(ref);
    auto r = write_image(image, *ImageRef::parse(ref));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::Corruption);
  }
  EXPECT_TRUE(fs::is_empty(dir->path())) << "partial output left behind";
}

TEST(ReadImage, TruncatedArchiveIsAnError) {
  auto dir = TempDir::create();
  Image image = sample_image();
  fs::path tar = dir->path() / "full.tar";
  ASSERT_TRUE(write_image(image, *ImageRef::parse("docker-archive:" + tar.string())));
  auto bytes = *read_file(tar, 1 << 30);
  fs::path cut = dir->path() / "cut.tar";
  ASSERT_TRUE(write_file_atomic(cut, std::string_view(bytes).substr(0, bytes.size() / 2 + 100)));
  auto r = read("docker-archive:" + cut.string());
  if (r) {
    auto status = read_all_layers(*r);
    EXPECT_FALSE(status);
  } else {
    EXPECT_TRUE(r.error().code() == Code::Corruption || r.error().code() == Code::NotFound)
        << r.error().to_string();
  }
}

}  // namespace
}  // namespace de::oci

namespace de::oci {
namespace {

TEST(WriteImage, UnnamedWriteReplacesTheUnnamedEntry) {
  auto dir = TempDir::create();
  auto ref = *ImageRef::parse("oci:" + (dir->path() / "l").string());
  auto named = *ImageRef::parse("oci:" + (dir->path() / "l").string() + ":keep");
  Image first = sample_image();
  ASSERT_TRUE(write_image(first, named));
  ASSERT_TRUE(write_image(first, ref));
  Image second = sample_image();
  second.config.set_env({"PATH=/other"});
  auto written = write_image(second, ref);
  ASSERT_TRUE(written) << written.error().to_string();
  auto back = read_image(ref);
  // Two entries remain: "keep" and the unnamed one, which is the second image.
  ASSERT_FALSE(back) << "an unnamed read of a layout with a named and an unnamed image is ambiguous";
  auto index = Index::parse(*read_file(dir->path() / "l" / "index.json"));
  ASSERT_TRUE(index);
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[1].digest, written->manifest_digest);
  auto kept = read_image(named);
  ASSERT_TRUE(kept) << kept.error().to_string();
  EXPECT_EQ(kept->config.env(), std::vector<std::string>{"PATH=/bin"});
}

// Several writers of the same image into one new layout at once (builds sharing an output, as
// crash_consistency_test runs them): each must succeed and the layout end up holding the image.
// Before the fix a writer failed now and then: it saw no index.json, then listed the directory
// after another writer had renamed its index.json into place ("... is a non-empty directory that
// is not an OCI layout"), or its mkdir lost the race to create the directory ("File exists").
TEST(WriteImage, ConcurrentWritersOfOneLayoutAllSucceed) {
  auto dir = TempDir::create();
  Image image = sample_image();
  auto expected = write_image(image, *ImageRef::parse("oci:" + (dir->path() / "ref").string()));
  ASSERT_TRUE(expected) << expected.error().to_string();
  constexpr int kRounds = 60;
  constexpr unsigned kWriters = 4;
  for (int round = 0; round < kRounds; ++round) {
    auto ref = *ImageRef::parse("oci:" + (dir->path() / fmt::format("l{}", round)).string());
    Status all = parallel_for(kWriters, kWriters, [&](std::size_t) -> Status {
      auto written = DE_TRY(write_image(image, ref));
      if (written.manifest_digest != expected->manifest_digest)
        return fail(Code::Internal, "wrote {}", written.manifest_digest.to_string());
      return {};
    });
    ASSERT_TRUE(all) << "round " << round << ": " << all.error().to_string();
    auto index = Index::parse(*read_file(dir->path() / fmt::format("l{}", round) / "index.json"));
    ASSERT_TRUE(index);
    ASSERT_EQ(index->manifests.size(), 1u);
    EXPECT_EQ(index->manifests[0].digest, expected->manifest_digest);
    ASSERT_TRUE(read_image(ref));
  }
}

TEST(TarReaderPolicy, RootNamedSlashIsTheRoot) {
  // kaniko writes the root directory as "/"; it is harmless and read as the root.
  std::string tar;
  {
    StringWriter out;
    TarWriter w(out);
    ASSERT_TRUE(w.add(TarEntry{.path = "", .type = EntryType::Directory, .mode = 0755}));
    ASSERT_TRUE(w.finish());
    tar = out.take();
  }
  // Rewrite the name "./" as "/" and fix the header checksum.
  tar.replace(0, 2, std::string("/\0", 2));
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(tar[i]);
  std::string field = fmt::format("{:06o}", sum);
  tar.replace(148, 8, field + std::string("\0 ", 2));
  StringReader in(tar);
  TarReader reader(in);
  auto entry = reader.next();
  ASSERT_TRUE(entry) << entry.error().to_string();
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->path, "");
}

}  // namespace
}  // namespace de::oci
