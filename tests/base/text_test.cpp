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
TEST(PercentEncode, KeepsUnreservedAndTheGivenCharacters) {
  EXPECT_EQ(percent_encode("a-Z_0.~"), "a-Z_0.~");
  // A query value: everything else, '/' and '=' included, is encoded, upper-case hex, byte-wise.
  EXPECT_EQ(percent_encode("repository:a/b:pull x=1&"), "repository%3Aa%2Fb%3Apull%20x%3D1%26");
  EXPECT_EQ(percent_encode("\xc3\xa9\n"), "%C3%A9%0A");
  EXPECT_EQ(percent_encode(std::string_view("a\0b", 3)), "a%00b");
  // A file:// path: '/' kept; for conda channels also "+@:".
  EXPECT_EQ(percent_encode("/x y/a+b@c:d", "/"), "/x%20y/a%2Bb%40c%3Ad");
  EXPECT_EQ(percent_encode("/x y/a+b@c:d", "/+@:"), "/x%20y/a+b@c:d");
}

TEST(HasUrlScheme, SchemeThenColonSlashSlash) {
  EXPECT_TRUE(has_url_scheme("https://host/x"));
  EXPECT_TRUE(has_url_scheme("git+ssh://host/x"));
  EXPECT_TRUE(has_url_scheme("file:///tmp/x"));
  EXPECT_FALSE(has_url_scheme("://host"));
  EXPECT_FALSE(has_url_scheme("./dir/x://y"));
  EXPECT_FALSE(has_url_scheme("C:\\x"));
  EXPECT_FALSE(has_url_scheme("numpy>=1"));
}

}  // namespace de
