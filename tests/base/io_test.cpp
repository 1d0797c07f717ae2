#include "docker_envs/base/io.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace de {
namespace {
namespace fs = std::filesystem;

TEST(AtomicFileWriter, CommitRenamesAndAbandonLeavesNothing) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path dest = dir->path() / "out.txt";
  {
    auto w = AtomicFileWriter::create(dest);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write("half"));
  }  // abandoned
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_TRUE(fs::is_empty(dir->path()));
  ASSERT_TRUE(write_file_atomic(dest, "hello"));
  EXPECT_EQ(*read_file(dest), "hello");
}

TEST(AtomicFileWriter, PwritePatchesEarlierBytes) {
  auto dir = TempDir::create();
  fs::path dest = dir->path() / "p";
  auto w = AtomicFileWriter::create(dest);
  ASSERT_TRUE((*w)->write("0123456789"));
  ASSERT_TRUE((*w)->pwrite(2, as_bytes("ab")));
  ASSERT_TRUE((*w)->write("X"));
  ASSERT_TRUE((*w)->commit());
  EXPECT_EQ(*read_file(dest), "01ab456789X");
}

TEST(FileReader, RangeAndTruncation) {
  auto dir = TempDir::create();
  fs::path p = dir->path() / "f";
  ASSERT_TRUE(write_file_atomic(p, "abcdefgh"));
  auto r = FileReader::open_range(p, 2, 3);
  ASSERT_TRUE(r);
  EXPECT_EQ(*read_all(**r), "cde");
  auto past = FileReader::open_range(p, 6, 10);
  auto res = read_all(**past);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::Corruption);
  EXPECT_EQ(FileReader::open(dir->path() / "missing").error().code(), Code::NotFound);
}

TEST(VerifyingReader, DetectsMismatch) {
  VerifyingReader good(std::make_unique<StringReader>("abc"), Digest::of("abc"), 3, "blob");
  EXPECT_EQ(*read_all(good), "abc");
  VerifyingReader bad(std::make_unique<StringReader>("abd"), Digest::of("abc"), 3, "blob x");
  auto res = read_all(bad);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), Code::Corruption);
  EXPECT_NE(res.error().to_string().find("blob x"), std::string::npos);
  VerifyingReader longer(std::make_unique<StringReader>("abcd"), Digest::of("abc"), 3, "blob");
  EXPECT_FALSE(read_all(longer));
}

TEST(HashingWriter, HashesAndForwards) {
  StringWriter sink;
  HashingWriter h(sink);
  ASSERT_TRUE(h.write("ab"));
  ASSERT_TRUE(h.write("c"));
  EXPECT_EQ(h.bytes(), 3u);
  EXPECT_EQ(h.finish(), Digest::of("abc"));
  EXPECT_EQ(sink.str(), "abc");
}

TEST(Error, ContextChain) {
  auto inner = []() -> Result<int> { return fail(Code::NotFound, "blob {} missing", 7); };
  auto outer = [&]() -> Result<int> {
    int v = DE_TRY_CTX(inner(), std::string("reading layer 2"));
    return v + 1;
  };
  auto r = outer();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
  EXPECT_EQ(r.error().to_string(), "reading layer 2: blob 7 missing");
}

}  // namespace
}  // namespace de
