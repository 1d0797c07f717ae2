// A compressed docker-archive is staged in $TMPDIR only up to a bound (issue 13 item 8).
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "ffi/compress.hpp"
#include "oci/archive_file.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;

TEST(ArchiveBomb, ACompressedArchiveMayNotExpandWithoutBound) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto path = dir->path() / "bomb.tar.gz";
  {
    auto file = AtomicFileWriter::create(path);
    ASSERT_TRUE(file);
    auto gz = ffi::make_compressor(Compression::Gzip, **file);
    ASSERT_TRUE(gz);
    std::string zeros(std::size_t{1} << 20, '\0');
    for (int i = 0; i < 8; ++i) ASSERT_TRUE((*gz)->write(zeros));  // 8 MiB of zeros
    ASSERT_TRUE((*gz)->close());
    ASSERT_TRUE((*file)->commit());
  }
  ASSERT_LT(fs::file_size(path), std::uintmax_t{64} << 10);
  auto archive = ArchiveFile::open(path, std::uint64_t{1} << 20);
  ASSERT_FALSE(archive);
  std::string msg = archive.error().to_string();
  EXPECT_NE(msg.find("decompression bomb"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
}

}  // namespace
}  // namespace de::oci
