// Test helper (header-only, for tests that link the oci module): a layer's whole tar, read
// through open_tar(); empty with a test failure when it cannot be read.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::test {

inline std::string tar_bytes(const oci::Layer& layer) {
  auto in = layer.open_tar();
  EXPECT_TRUE(in) << in.error().to_string();
  if (!in) return {};
  auto all = read_all(**in, 1 << 30);
  EXPECT_TRUE(all) << all.error().to_string();
  return all ? *all : std::string();
}

}  // namespace de::test
