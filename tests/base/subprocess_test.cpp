#include "docker_envs/base/subprocess.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace de {
namespace {

TEST(RunProcess, PassesArgvWithoutAShellAndCollectsOutput) {
  auto r = run_process(
      "sh", {"sh", "-c", "printf '%s|' \"$@\"; echo err >&2; exit 3", "x", "a b", "$HOME", ";"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->out, "a b|$HOME|;|");  // arguments arrive as given, nothing expanded
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->succeeded());
}

TEST(RunProcess, WritesStdinAndReadsALargeOutputAtTheSameTime) {
  // 4 MiB through `cat`: more than both pipe buffers, so input and output must overlap.
  std::string input(4 << 20, 'x');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 26);
  auto r = run_process("cat", {}, {.input = input, .max_output = 8 << 20});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->succeeded());
  EXPECT_FALSE(r->input_refused);
  EXPECT_EQ(r->out, input);
}

TEST(RunProcess, BoundsWhatItKeeps) {
  auto r = run_process("sh", {"sh", "-c", "head -c 100000 /dev/zero; head -c 5000 /dev/zero >&2"},
                       {.max_output = 1000, .max_error = 10});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->err.size(), 10u);
  EXPECT_TRUE(r->succeeded());
}

TEST(RunProcess, ReportsSignalsAndMissingPrograms) {
  auto killed = run_process("sh", {"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->signal, SIGTERM);
  EXPECT_EQ(killed->exit_code, -1);
  auto missing = run_process("de-no-such-program-xyz", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  EXPECT_NE(missing.error().message().find("de-no-such-program-xyz"), std::string::npos);
}

// A program that exits without reading its input: writing to it raises SIGPIPE, which must not
// kill this process. 1 MiB cannot fit in the pipe, so every call writes after the exit.
TEST(RunProcess, AProgramThatIgnoresItsInputDoesNotKillUs) {
  std::string input(1 << 20, 'i');
  for (int i = 0; i < 50; ++i) {
    auto r = run_process("sh", {"sh", "-c", "echo bye; exit 4"}, {.input = input});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->input_refused);
    EXPECT_EQ(r->out, "bye\n");
    EXPECT_EQ(r->exit_code, 4);
  }
  // No SIGPIPE was left pending or blocked for this thread.
  sigset_t pending, mask;
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_EQ(sigismember(&mask, SIGPIPE), 0);
}

}  // namespace
}  // namespace de
