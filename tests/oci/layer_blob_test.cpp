// Blob-file layers: a layout on the same file system hard-links a MayLink blob, every other case
// copies it, and the written images are the same bytes either way.
#include "docker_envs/oci/layer_blob.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "docker_envs/oci/image_ref.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/mutate.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;

struct StoredBlob {
  LayerBlob blob;
  fs::path path;
};

// A small layer (gzip unless asked) written to `dir/blob` as a cache would keep it.
StoredBlob make_blob(const fs::path& work, const fs::path& dir,
                     Compression compression = Compression::Gzip) {
  fs::create_directories(work / "tree");
  std::ofstream(work / "tree/hello.txt", std::ios::binary) << std::string(10000, 'h');
  LayerBuilder builder({.source_date_epoch = 0});
  EXPECT_TRUE(builder.add_directory(work / "tree", "opt/x"));
  auto layer = std::move(builder).build();
  EXPECT_TRUE(layer) << layer.error().to_string();
  auto out = AtomicFileWriter::create(dir / "blob");
  EXPECT_TRUE(out);
  auto written = write_layer_blob(**layer, compression, **out);
  EXPECT_TRUE(written) << written.error().to_string();
  EXPECT_TRUE((*out)->commit());
  return {*written, dir / "blob"};
}

Image image_of(const StoredBlob& b, BlobFileUse use) {
  return append_layer(scratch_image(),
                      blob_file_layer(b.blob.blob, b.blob.diff_id, b.path, "the test", use),
                      HistoryEntry{.created_by = "test"});
}

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

TEST(BlobFileLayer, MayLinkIsHardLinkedIntoALayoutCopyIsCopied) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto b = make_blob(dir->path() / "work", dir->path());
  auto linked = write_image(image_of(b, BlobFileUse::MayLink),
                            {Transport::OciLayout, (dir->path() / "linked").string(), "v1"});
  ASSERT_TRUE(linked) << linked.error().to_string();
  auto copied = write_image(image_of(b, BlobFileUse::Copy),
                            {Transport::OciLayout, (dir->path() / "copied").string(), "v1"});
  ASSERT_TRUE(copied) << copied.error().to_string();
  EXPECT_EQ(linked->manifest_digest, copied->manifest_digest);

  auto source = stat_of(b.path);
  auto in_linked = stat_of(dir->path() / "linked/blobs/sha256" / b.blob.blob.digest.hex());
  auto in_copied = stat_of(dir->path() / "copied/blobs/sha256" / b.blob.blob.digest.hex());
  EXPECT_EQ(in_linked.st_ino, source.st_ino);
  EXPECT_EQ(source.st_nlink, 2u);
  EXPECT_NE(in_copied.st_ino, source.st_ino);
  EXPECT_EQ(in_copied.st_size, source.st_size);

  // Writing again into the linked layout keeps the blob there (content-addressed), and an archive
  // gets the same bytes copied.
  auto again = write_image(image_of(b, BlobFileUse::MayLink),
                           {Transport::OciLayout, (dir->path() / "linked").string(), "v1"});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->manifest_digest, linked->manifest_digest);
  auto archive = write_image(image_of(b, BlobFileUse::MayLink),
                             {Transport::OciArchive, (dir->path() / "img.tar").string(), "v1"});
  ASSERT_TRUE(archive) << archive.error().to_string();
  EXPECT_EQ(archive->manifest_digest, linked->manifest_digest);
  EXPECT_EQ(stat_of(b.path).st_nlink, 2u);
  auto back = read_image({Transport::OciLayout, (dir->path() / "linked").string(), "v1"});
  ASSERT_TRUE(back) << back.error().to_string();
  ASSERT_EQ(back->layers.size(), 1u);
  auto tar = back->layers[0]->open_tar();
  ASSERT_TRUE(tar);
  auto all = read_all(**tar, 1 << 20);
  ASSERT_TRUE(all) << all.error().to_string();  // verified against the diffID
}

TEST(BlobFileLayer, ArchivesCopyMayLinkBlobsInTheKernelWithTheSameBytes) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  // Uncompressed, as a docker-archive build caches it: both archives keep the blob as it is.
  auto b = make_blob(dir->path() / "work", dir->path(), Compression::None);
  for (auto transport : {Transport::DockerArchive, Transport::OciArchive}) {
    auto trusted = write_image(image_of(b, BlobFileUse::MayLink),
                               {transport, (dir->path() / "trusted.tar").string(), "x:v1"});
    ASSERT_TRUE(trusted) << trusted.error().to_string();
    auto verified = write_image(image_of(b, BlobFileUse::Copy),
                                {transport, (dir->path() / "verified.tar").string(), "x:v1"});
    ASSERT_TRUE(verified) << verified.error().to_string();
    EXPECT_EQ(trusted->manifest_digest, verified->manifest_digest);
    EXPECT_EQ(*read_file(dir->path() / "trusted.tar", 1 << 20),
              *read_file(dir->path() / "verified.tar", 1 << 20));
    auto back = read_image({transport, (dir->path() / "trusted.tar").string(), "x:v1"});
    ASSERT_TRUE(back) << back.error().to_string();
    auto tar = back->layers.at(0)->open_tar();
    ASSERT_TRUE(tar);
    ASSERT_TRUE(read_all(**tar, 1 << 20));  // verified against the diffID
  }
  // A trusted file that lost bytes fails the write instead of giving a short member.
  fs::path damaged = dir->path() / "damaged-blob";
  auto bytes = *read_file(b.path, 1 << 20);
  ASSERT_TRUE(write_file_atomic(damaged, bytes.substr(0, bytes.size() - 10)));
  auto layer =
      blob_file_layer(b.blob.blob, b.blob.diff_id, damaged, "the test", BlobFileUse::MayLink);
  auto short_write =
      write_image(append_layer(scratch_image(), layer, HistoryEntry{.created_by = "test"}),
                  {Transport::DockerArchive, (dir->path() / "short.tar").string(), "x:v1"});
  ASSERT_FALSE(short_write);
  EXPECT_NE(short_write.error().to_string().find("truncated"), std::string::npos)
      << short_write.error().to_string();
  EXPECT_FALSE(fs::exists(dir->path() / "short.tar"));
}

TEST(BlobFileLayer, AnotherFileSystemFallsBackToACopy) {
  // /dev/shm is a tmpfs on Linux; the layout goes to $TMPDIR. Skip where both are one file system.
  std::error_code ec;
  if (!fs::is_directory("/dev/shm", ec)) GTEST_SKIP() << "no /dev/shm";
  auto shm = TempDir::create("/dev/shm");
  auto dir = TempDir::create();
  ASSERT_TRUE(shm && dir);
  if (stat_of(shm->path()).st_dev == stat_of(dir->path()).st_dev)
    GTEST_SKIP() << "/dev/shm and the temp dir are one file system";
  auto b = make_blob(dir->path() / "work", shm->path());
  auto written = write_image(image_of(b, BlobFileUse::MayLink),
                             {Transport::OciLayout, (dir->path() / "out").string(), "v1"});
  ASSERT_TRUE(written) << written.error().to_string();
  auto out = stat_of(dir->path() / "out/blobs/sha256" / b.blob.blob.digest.hex());
  EXPECT_EQ(out.st_nlink, 1u);
  EXPECT_EQ(out.st_size, stat_of(b.path).st_size);
  EXPECT_EQ(stat_of(b.path).st_nlink, 1u);
}

}  // namespace
}  // namespace de::oci
