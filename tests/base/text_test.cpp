#include "docker_envs/base/text.hpp"

#include <gtest/gtest.h>

#include <array>

namespace de {
namespace {

TEST(EditDistance, CountsSwappedNeighboursAsOneEdit) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("build", "build"), 0u);
  EXPECT_EQ(edit_distance("buidl", "build"), 1u);  // a swap of two neighbours
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("abc", "ca"), 3u);  // no substring is edited twice
  EXPECT_EQ(edit_distance("--lnog", "--long"), 1u);
  EXPECT_EQ(edit_distance("lsos", "ls"), 2u);
  EXPECT_EQ(edit_distance("dockr", "docker"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(EditDistance, ClosestWord) {
  constexpr std::array<std::string_view, 4> kCommands = {"build", "image", "solve", "lock"};
  EXPECT_EQ(closest_word("buidl", kCommands), "build");
  EXPECT_EQ(closest_word("imag", kCommands), "image");
  EXPECT_EQ(closest_word("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(closest_word("x", kCommands), std::nullopt);
}

}  // namespace
}  // namespace de
