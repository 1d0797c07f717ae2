// Helpers shared by the unit tests.
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace de::test {

// ../shared/testdata, or empty when the folder is absent (a user's fresh clone).
std::filesystem::path testdata_dir();

// Skips the current test with a clear message when the shared test data is absent.
#define DE_REQUIRE_TESTDATA()                                                           \
  do {                                                                                  \
    if (::de::test::testdata_dir().empty())                                             \
      GTEST_SKIP() << "../shared/testdata is absent; real-data test skipped";           \
  } while (0)

// Path of the built CLI binary.
std::filesystem::path cli_path();

// Runs a shell command, returning its exit status and combined stdout (stderr to `err` if given).
struct CommandResult {
  int status;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command);

}  // namespace de::test
