// The cleanup registry: the temp + rename helpers register what they write until it is renamed
// into place (or removed), a signal removes what is registered and exits with 128 + the signal
// number, and child processes do not inherit the blocked signals.
#include "docker_envs/base/cleanup.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/subprocess.hpp"

namespace de {
namespace {

namespace fs = std::filesystem;

bool registered(const fs::path& p) {
  auto all = registered_cleanup_paths();
  return std::find(all.begin(), all.end(), p) != all.end();
}

// The files in `dir` (names only).
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Cleanup, AtomicFileWriterIsRegisteredUntilItsRename) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto out = AtomicFileWriter::create(dir->path() / "f.txt");
  ASSERT_TRUE(out);
  ASSERT_TRUE((*out)->write("abc"));
  auto names = names_in(dir->path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(is_temp_file_name(names[0])) << names[0];
  EXPECT_TRUE(names[0].starts_with(".f.txt.tmp-")) << names[0];
  EXPECT_TRUE(registered(dir->path() / names[0]));
  ASSERT_TRUE((*out)->commit());
  EXPECT_FALSE(registered(dir->path() / names[0]));
  EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"f.txt"});

  // Abandoned: removed and no longer registered.
  auto other = AtomicFileWriter::create(dir->path() / "g.txt");
  ASSERT_TRUE(other);
  auto tmp = names_in(dir->path());
  out->reset();
  other->reset();
  for (const auto& n : tmp) EXPECT_FALSE(registered(dir->path() / n));
  EXPECT_EQ(names_in(dir->path()), std::vector<std::string>{"f.txt"});
}

TEST(Cleanup, TempFileNames) {
  EXPECT_TRUE(is_temp_file_name(temp_file_name("index.json")));
  EXPECT_TRUE(is_temp_file_name(temp_file_name(".incoming")));
  EXPECT_TRUE(is_temp_file_name(".x.tmp-0123456789abcdef"));
  EXPECT_FALSE(is_temp_file_name("x.tmp-0123456789abcdef"));   // no leading dot
  EXPECT_FALSE(is_temp_file_name(".x.tmp-0123456789abcde"));   // 15 digits
  EXPECT_FALSE(is_temp_file_name(".x.tmp-0123456789abcdeg"));  // not hex
  EXPECT_FALSE(is_temp_file_name("index.json"));
}

// A directory of the test's own, not registered (as a TempDir would be).
class PlainDir {
 public:
  explicit PlainDir(std::string_view name)
      : path_(fs::temp_directory_path() / (std::string(name) + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~PlainDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Cleanup, RunCleanupRemovesFilesTreesAndNewDirectories) {
  PlainDir dir("de-cleanup-run");
  auto out = AtomicFileWriter::create(dir.path() / "f.txt");
  ASSERT_TRUE(out);
  auto made = NewDirectory::create(dir.path() / "new" / "layout");
  ASSERT_TRUE(made);
  ASSERT_TRUE(write_file_atomic(made->path() / "blob", "x"));
  auto kept = NewDirectory::create(dir.path() / "kept");
  ASSERT_TRUE(kept);
  kept->keep();
  fs::create_directories(dir.path() / "staged" / "a");
  auto staged = CleanupGuard::track({dir.path() / "staged"}, CleanupKind::Tree);
  EXPECT_TRUE(staged);

  run_cleanup_now();
  // What was registered is gone; the parents NewDirectory made and a kept directory stay.
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"kept", "new"}));
  EXPECT_TRUE(names_in(dir.path() / "new").empty());
  EXPECT_TRUE(registered_cleanup_paths().empty());
}

TEST(Cleanup, NewDirectoryIsRemovedUnlessKept) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  {
    auto made = NewDirectory::create(dir->path() / "a");
    ASSERT_TRUE(made);
    ASSERT_TRUE(write_file_atomic(made->path() / "f", "x"));
    EXPECT_TRUE(registered(dir->path() / "a"));
  }
  EXPECT_FALSE(fs::exists(dir->path() / "a"));
  EXPECT_FALSE(registered(dir->path() / "a"));
  {
    auto made = NewDirectory::create(dir->path() / "b");
    ASSERT_TRUE(made);
    made->keep();
    EXPECT_FALSE(registered(dir->path() / "b"));
  }
  EXPECT_TRUE(fs::is_directory(dir->path() / "b"));
  auto again = NewDirectory::create(dir->path() / "b");
  ASSERT_FALSE(again);  // never takes over an existing directory
  EXPECT_TRUE(fs::is_directory(dir->path() / "b"));
}

// Death tests in a fork of this process ("fast"), so that the child writes into the test's own
// directory; the previous style comes back at the end of the scope.
class ForkedDeathTests {
 public:
  ForkedDeathTests() : style_(GTEST_FLAG_GET(death_test_style)) {
    GTEST_FLAG_SET(death_test_style, "fast");
  }
  ~ForkedDeathTests() { GTEST_FLAG_SET(death_test_style, style_); }

 private:
  std::string style_;
};

// In a child process: sends itself `sig` and waits for the cleanup thread to end the process
// (this thread must not end it first).
[[noreturn]] void signal_self_and_wait(int sig) {
  ::kill(::getpid(), sig);
  for (int i = 0; i < 1000; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  _exit(6);
}

// In a child process (a death test): a signal ends it with 128 + the signal number, after the
// registered temp file and new directory are removed.
[[noreturn]] void interrupted_write(const fs::path& dir, int sig) {
  if (!install_signal_cleanup()) _exit(3);
  auto out = AtomicFileWriter::create(dir / "dest.tar");
  auto made = NewDirectory::create(dir / "layout");
  if (!out || !made) _exit(4);
  if (!(*out)->write(std::string(1 << 20, 'x'))) _exit(5);
  signal_self_and_wait(sig);
}

TEST(CleanupDeathTest, SignalsRemoveWhatIsHalfWrittenAndExitWith128PlusTheSignal) {
  ForkedDeathTests forked;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    PlainDir dir("de-cleanup-signal");
    EXPECT_EXIT(interrupted_write(dir.path(), sig), testing::ExitedWithCode(128 + sig),
                "interrupted by SIG");
    EXPECT_TRUE(names_in(dir.path()).empty()) << "signal " << sig << " left files behind";
  }
}

// In a child process (a death test). Thread A is inside a CoveredCreation when the signal comes,
// and creates a registered file after a while: the removal waits for it and removes it. Thread B
// creates and removes an unregistered file in a loop, each time under a CoveredCreation and
// lingering before the removal: if it could create after the removal began, its file would often
// outlive the process.
[[noreturn]] void interrupted_creations(const fs::path& dir, int sig) {
  if (!install_signal_cleanup()) _exit(3);
  auto tracked = CleanupGuard::track({dir / "in-flight"}, CleanupKind::File);
  std::atomic<bool> a_inside = false;
  std::atomic<int> b_rounds = 0;
  std::thread([&] {
    {
      CoveredCreation covered;
      a_inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      if (!write_file_atomic(dir / "in-flight", "x")) _exit(7);
    }
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }).detach();
  std::thread([&] {
    for (int i = 0;; ++i) {
      CoveredCreation covered;
      fs::path p = dir / ("b-" + std::to_string(i));
      if (!write_file_atomic(p, "x")) _exit(8);
      ++b_rounds;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ::unlink(p.c_str());
    }
  }).detach();
  while (!a_inside || b_rounds < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  signal_self_and_wait(sig);
}

TEST(CleanupDeathTest, NothingCoveredIsCreatedAfterTheRemovalBegins) {
  ForkedDeathTests forked;
  for (int round = 0; round < 3; ++round) {
    PlainDir dir("de-cleanup-covered");
    EXPECT_EXIT(interrupted_creations(dir.path(), SIGTERM), testing::ExitedWithCode(128 + SIGTERM),
                "interrupted by SIGTERM");
    EXPECT_TRUE(names_in(dir.path()).empty())
        << "left behind: " << testing::PrintToString(names_in(dir.path()));
  }
}

TEST(Cleanup, ChildProcessesStartWithNoSignalBlocked) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  auto r = run_process("sh", {"sh", "-c", "grep SigBlk /proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->out, "SigBlk:\t0000000000000000\n");
}

}  // namespace
}  // namespace de
