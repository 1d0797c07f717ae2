// Helpers of the tar tests: reading a whole tar held in memory, and writing one.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "docker_envs/oci/tar.hpp"

namespace de::oci::tar_util {

struct ReadEntry {
  TarEntry entry;
  std::string data;
  std::uint64_t offset;
};

inline Result<std::vector<ReadEntry>> read_tar(std::string bytes) {
  StringReader in(std::move(bytes));
  TarReader reader(in);
  std::vector<ReadEntry> out;
  while (true) {
    auto entry = DE_TRY(reader.next());
    if (!entry) return out;
    ReadEntry r{std::move(*entry), {}, reader.data_offset()};
    std::byte buf[777];  // odd size on purpose
    while (true) {
      size_t n = DE_TRY(reader.read_data(buf));
      if (n == 0) break;
      r.data.append(reinterpret_cast<const char*>(buf), n);
    }
    out.push_back(std::move(r));
  }
}

inline std::vector<ReadEntry> must_read(std::string bytes) {
  auto r = read_tar(std::move(bytes));
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : std::vector<ReadEntry>{};
}

inline TarEntry file_entry(std::string path, std::uint64_t size, std::uint32_t mode = 0644) {
  TarEntry e;
  e.path = std::move(path);
  e.type = EntryType::File;
  e.mode = mode;
  e.size = size;
  return e;
}

inline std::string write_tar(const std::vector<std::pair<TarEntry, std::string>>& entries) {
  StringWriter out;
  TarWriter writer(out);
  for (auto& [e, data] : entries) {
    StringReader in(data);
    auto st = writer.add(e, &in);
    EXPECT_TRUE(st) << st.error().to_string();
  }
  EXPECT_TRUE(writer.finish());
  return out.take();
}

}  // namespace de::oci::tar_util
