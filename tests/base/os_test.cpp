#include "docker_envs/base/os.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/parallel.hpp"

namespace de {
namespace {
namespace fs = std::filesystem;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFd, ClosesOnDestructionAndMovesOwnership) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  ASSERT_TRUE(write_file_atomic(dir->path() / "f", "x"));
  int raw = -1;
  {
    auto fd = open_file(dir->path() / "f", OpenMode::Read);
    ASSERT_TRUE(fd);
    raw = fd->get();
    EXPECT_TRUE(is_open(raw));
    UniqueFd moved = std::move(*fd);
    EXPECT_FALSE(*fd);
    EXPECT_EQ(moved.get(), raw);
    UniqueFd assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
  // release() hands the descriptor over.
  auto fd = open_file(dir->path() / "f", OpenMode::Read);
  ASSERT_TRUE(fd);
  raw = fd->release();
  fd->reset();
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, OpenErrorsNameThePath) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto missing = open_file(dir->path() / "missing", OpenMode::Read);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  EXPECT_NE(missing.error().to_string().find((dir->path() / "missing").string()),
            std::string::npos);
  ASSERT_TRUE(write_file_atomic(dir->path() / "exists", "x"));
  auto again = open_file(dir->path() / "exists", OpenMode::CreateNew);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().to_string().find("creating " + (dir->path() / "exists").string()),
            std::string::npos);
  // CreateNew never follows a symlink, even a dangling one.
  fs::create_symlink(dir->path() / "target", dir->path() / "link");
  EXPECT_FALSE(open_file(dir->path() / "link", OpenMode::CreateNew));
  EXPECT_FALSE(fs::exists(dir->path() / "target"));
  auto created = open_file(dir->path() / "new", OpenMode::CreateNew, 0640);
  ASSERT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::fstat(created->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0640u, 0u);  // the umask may take bits away, never add
  EXPECT_TRUE(created->close("new"));
  EXPECT_FALSE(*created);
}

TEST(WriteAll, WritesEverythingThroughShortWrites) {
  // A pipe takes at most its capacity per write: a large buffer is written in several steps by
  // a reader on the other end.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string got;
  Thread reader([&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(read_end.get(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  });
  ASSERT_TRUE(write_all(write_end.get(), data, "the pipe"));
  write_end.reset();
  reader.join();
  EXPECT_EQ(got, data);
  auto bad = write_all(-1, std::string_view("x"), "nowhere");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("writing nowhere"), std::string::npos);
}

TEST(CopyRange, CopiesFilesAndFallsBackForPipes) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string content(300000, 'a');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(write_file_atomic(dir->path() / "src", content));
  {  // file to file, to the end
    auto in = open_file(dir->path() / "src", OpenMode::Read);
    auto out = open_file(dir->path() / "dst", OpenMode::CreateNew);
    ASSERT_TRUE(in && out);
    auto n = copy_range(in->get(), out->get(), "src", "dst");
    ASSERT_TRUE(n) << n.error().to_string();
    EXPECT_EQ(*n, content.size());
    EXPECT_EQ(*read_file(dir->path() / "dst"), content);
  }
  {  // a given size
    auto in = open_file(dir->path() / "src", OpenMode::Read);
    auto out = open_file(dir->path() / "part", OpenMode::CreateNew);
    ASSERT_TRUE(copy_range(in->get(), out->get(), "src", "part", 1000));
    EXPECT_EQ(*read_file(dir->path() / "part"), content.substr(0, 1000));
  }
  {  // more than there is: Corruption naming the source
    auto in = open_file(dir->path() / "src", OpenMode::Read);
    auto out = open_file(dir->path() / "long", OpenMode::CreateNew);
    auto r = copy_range(in->get(), out->get(), "the source", "long", content.size() + 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::Corruption);
    EXPECT_NE(r.error().message().find("the source is truncated"), std::string::npos);
  }
  {  // from a pipe: copy_file_range refuses (EINVAL), the buffer copy takes over
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    ASSERT_TRUE(write_all(write_end.get(), std::string_view("through a pipe"), "pipe"));
    write_end.reset();
    auto out = open_file(dir->path() / "from-pipe", OpenMode::CreateNew);
    auto n = copy_range(read_end.get(), out->get(), "pipe", "from-pipe");
    ASSERT_TRUE(n) << n.error().to_string();
    EXPECT_EQ(*read_file(dir->path() / "from-pipe"), "through a pipe");
  }
}

TEST(Mapping, MapsAFileWithReadableZeroPadding) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  std::string content(5000, 'q');
  ASSERT_TRUE(write_file_atomic(dir->path() / "f", content));
  auto m = Mapping::open(dir->path() / "f", {.padding = 64});
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->size(), content.size());
  EXPECT_GE(m->capacity(), content.size() + 64);
  EXPECT_EQ(m->view(), content);
  for (std::size_t i = content.size(); i < content.size() + 64; ++i) ASSERT_EQ(m->data()[i], 0);
  m->populate_in_background();
  Mapping moved = std::move(*m);
  EXPECT_EQ(moved.view(), content);
  EXPECT_EQ(m->size(), 0u);

  // An empty file with padding is all zeros; without, an empty view.
  ASSERT_TRUE(write_file_atomic(dir->path() / "empty", ""));
  auto e = Mapping::open(dir->path() / "empty", {.padding = 16});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->size(), 0u);
  EXPECT_GE(e->capacity(), 16u);
  EXPECT_EQ(e->data()[0], 0);
  auto e2 = Mapping::open(dir->path() / "empty");
  ASSERT_TRUE(e2);
  EXPECT_TRUE(e2->view().empty());
}

TEST(Mapping, RefusesMissingFilesAndDirectories) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto missing = Mapping::open(dir->path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  auto directory = Mapping::open(dir->path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code(), Code::Unsupported);
  EXPECT_NE(directory.error().message().find(dir->path().string()), std::string::npos);
}

}  // namespace
}  // namespace de
