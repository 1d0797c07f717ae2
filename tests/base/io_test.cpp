#include "docker_envs/base/io.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <thread>

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

TEST(MakeDirsBelow, MakesWhatIsMissingButNeverTheRoot) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  const auto root = dir->path() / "root";
  ASSERT_TRUE(fs::create_directory(root));
  ASSERT_TRUE(make_dirs_below(root, "a/b//c/"));
  EXPECT_TRUE(fs::is_directory(root / "a" / "b" / "c"));
  ASSERT_TRUE(make_dirs_below(root, "a/b/d"));  // what exists stays
  EXPECT_TRUE(fs::is_directory(root / "a" / "b" / "c"));
  EXPECT_TRUE(fs::is_directory(root / "a" / "b" / "d"));
  // A root that is gone (a signal's cleanup removed it) stays gone.
  fs::remove_all(root);
  auto st = make_dirs_below(root, "a/b");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(root.string()), std::string::npos) << st.error().message();
  EXPECT_FALSE(fs::exists(root));
}

TEST(MakeEmptyDir, CreatesOrAcceptsAnEmptyDirectoryOnly) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  const auto p = dir->path() / "x";
  ASSERT_TRUE(make_empty_dir(p));
  EXPECT_TRUE(make_empty_dir(p));  // empty: accepted
  ASSERT_TRUE(write_file_atomic(p / "f", "1"));
  EXPECT_FALSE(make_empty_dir(p));  // not empty
  ASSERT_TRUE(write_file_atomic(dir->path() / "file", "1"));
  EXPECT_FALSE(make_empty_dir(dir->path() / "file"));
  fs::create_directory_symlink(dir->path() / "empty", dir->path() / "link");
  ASSERT_TRUE(fs::create_directory(dir->path() / "empty"));
  EXPECT_FALSE(make_empty_dir(dir->path() / "link"));           // never through a symlink
  EXPECT_FALSE(make_empty_dir(dir->path() / "missing" / "x"));  // parents are not made
}

TEST(ReadFile, ReadsWholeFilesOfAnySizeAndRefusesThoseOverTheLimit) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string big(3 * (64 << 10) + 17, 'x');  // more than one read, not a multiple of it
  for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(write_file_atomic(dir->path() / "big", big));
  ASSERT_TRUE(write_file_atomic(dir->path() / "empty", ""));
  EXPECT_EQ(*read_file(dir->path() / "big"), big);
  EXPECT_EQ(*read_file(dir->path() / "empty"), "");
  EXPECT_EQ(*read_file(dir->path() / "big", big.size()), big);  // the limit itself is allowed
  auto over = read_file(dir->path() / "big", big.size() - 1);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().to_string().find("big"), std::string::npos) << over.error().to_string();
  EXPECT_NE(over.error().to_string().find(std::to_string(big.size() - 1)), std::string::npos);
  EXPECT_FALSE(read_file(dir->path() / "missing"));
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

TEST(AtomicFileWriter, AppendFileCopiesInPlaceOfWrites) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  ASSERT_TRUE(write_file_atomic(dir->path() / "src", "hello world"));
  fs::path dest = dir->path() / "out";
  auto w = AtomicFileWriter::create(dest);
  ASSERT_TRUE((*w)->write("head:"));  // still buffered: must land before the copied bytes
  auto appended = (*w)->append_file(dir->path() / "src", 5);
  ASSERT_TRUE(appended) << appended.error().to_string();
  EXPECT_TRUE(*appended);
  ASSERT_TRUE((*w)->write(":tail"));
  EXPECT_EQ((*w)->bytes_written(), 15u);
  ASSERT_TRUE((*w)->commit());
  EXPECT_EQ(*read_file(dest), "head:hello:tail");

  // A file shorter than announced is an error, not a short output.
  auto short_file = AtomicFileWriter::create(dir->path() / "short");
  auto too_long = (*short_file)->append_file(dir->path() / "src", 12);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code(), Code::Corruption);
  EXPECT_NE(too_long.error().to_string().find("truncated"), std::string::npos);
  // Writers that are not files decline, having written nothing.
  StringWriter memory;
  auto declined = memory.append_file(dir->path() / "src", 5);
  ASSERT_TRUE(declined);
  EXPECT_FALSE(*declined);
  EXPECT_EQ(memory.str(), "");
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

namespace de {
namespace {

// Inputs are regular files only (issue 13 item 6): a FIFO blocked open() forever, /dev/zero never
// ended. The FIFO case runs on a thread; on a timeout the test opens the FIFO's other end so that
// a regression fails instead of hanging.
TEST(FileReader, RefusesFifosAndDevicesAtOnce) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto fifo = dir->path() / "index.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::promise<std::string> done;
  auto result = done.get_future();
  std::thread reader([&] {
    auto r = read_file(fifo);
    done.set_value(r ? "read " + std::to_string(r->size()) + " bytes" : r.error().to_string());
  });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "read_file of a FIFO blocks";
    int unblock = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    if (unblock >= 0) ::close(unblock);
  }
  reader.join();
  std::string msg = result.get();
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  EXPECT_NE(msg.find(fifo.string()), std::string::npos) << msg;

  for (const char* device : {"/dev/zero", "/dev/null"}) {
    auto r = FileReader::open(device);
    ASSERT_FALSE(r) << device;
    EXPECT_NE(r.error().to_string().find(device), std::string::npos);
    EXPECT_FALSE(FileReader::open_range(device, 0, 10));
  }
  EXPECT_FALSE(FileReader::open(dir->path()));  // a directory is not an input either
  ASSERT_TRUE(write_file_atomic(dir->path() / "plain", "x"));
  EXPECT_EQ(*read_file(dir->path() / "plain"), "x");
}

}  // namespace
}  // namespace de
