// Shared helpers of the libFuzzer targets (fuzz/*.cpp): a per-process scratch directory, writing
// the input to a file there, and a check that stops the fuzzer with a message when a property of
// the code under test does not hold (a round trip that changes the value, ...).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace de::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A directory private to this process (in /dev/shm when there is one: the targets that need
// files write one per input), removed when the process exits normally.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    auto d = base / ("de-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d, ec);
    std::filesystem::create_directories(d);
    static struct Cleanup {
      std::filesystem::path path;
      ~Cleanup() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    } cleanup{d};
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// Stops the run (libFuzzer saves the input) when a property fails.
[[noreturn]] inline void property_failed(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz property failed: %s\n  %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

#define DE_FUZZ_CHECK(cond, detail) \
  do {                              \
    if (!(cond)) ::de::fuzz::property_failed(#cond, (detail)); \
  } while (0)

}  // namespace de::fuzz
