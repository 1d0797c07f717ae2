#include "docker_envs/conda/version.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace de::conda {

void PrintTo(const Version& v, std::ostream* os) { *os << "Version(" << v.to_string() << ")"; }

namespace {

Version V(std::string_view text) {
  auto v = Version::parse(text);
  EXPECT_TRUE(v) << text << ": " << v.error().to_string();
  return v ? *v : Version();
}

TEST(Version, ParsesAndRoundTrips) {
  for (std::string_view text : {"1.0", "1!2.3.4+local.5", "1.0.1_", "2.2be.ta29", "0.4.1.RC",
                                "1.2-3", "2013a", "0.5*", "1.0.dev1", "1.0.post2"}) {
    Version v = V(text);
    EXPECT_EQ(v.to_string(), text);
    EXPECT_EQ(V(v.to_string()), v);
  }
  EXPECT_EQ(V("  1.2 ").to_string(), "1.2");
}

TEST(Version, ParsedForm) {
  EXPECT_EQ(V("1.1dev1").conda_repr(), "[[0], [1], [1, 'DEV', 1]]");
  EXPECT_EQ(V("1.0post").conda_repr(), "[[0], [1], [0, inf]]");
  EXPECT_EQ(V("2!1.0.1_").conda_repr(), "[[2], [1], [0], [1, '_']]");
  EXPECT_EQ(V("0.5-5").conda_repr(), "[[0], [0], [5], [5]]");
  EXPECT_EQ(V("1.2.a1").conda_repr(), "[[0], [1], [2], [0, 'a', 1]]");
  EXPECT_EQ(V("0.5*").conda_repr(), "[[0], [0], [5, '*']]");
}

TEST(Version, Ordering) {
  // Each strictly less than the next.
  std::vector<std::string_view> ascending = {
      "0.4",         "0.4.1a.vc11", "0.4.1.rc", "0.4.1",  "0.5*",      "0.5a1",
      "0.5",         "1.0.1dev",    "1.0.1_",   "1.0.1a", "1.0.1rc1",  "1.0.1",
      "1.0.1post.a", "1.0.2",       "1.1.dev1", "1.1",    "1.1.post1", "1.1post1",
      "2g6",         "1996.07.12",  "1!0.1",    "2!0.0.1"};
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i)
    EXPECT_LT(V(ascending[i]), V(ascending[i + 1])) << ascending[i] << " < " << ascending[i + 1];
}

TEST(Version, SemanticEquality) {
  EXPECT_EQ(V("1.0"), V("1.0.0"));
  EXPECT_EQ(V("1.0"), V("1"));
  EXPECT_EQ(V("0.4.1.rc"), V("0.4.1.RC"));
  EXPECT_EQ(V("0.5_5"), V("0.5-5"));
  EXPECT_EQ(V("1.2+a"), V("1.2.0+a.0"));
  EXPECT_NE(V("1.2+a"), V("1.2"));
  EXPECT_LT(V("1.2+a"), V("1.2"));  // local strings sort before the implicit 0
  EXPECT_LT(V("1.2"), V("1.2+1"));
  EXPECT_LT(V("1.0a"), V("1.0"));
  EXPECT_LT(V("1.2dev"), V("1.2.devdev"));
  EXPECT_LT(V("1.2postpost"), V("1.2post"));
  EXPECT_LT(V("1.2dev"), V("1.2devdev"));
}

TEST(Version, RejectsMalformedWithPosition) {
  struct Case {
    std::string_view text, message;
  };
  for (auto [text, message] : std::vector<Case>{
           {"", "empty version"},
           {"1.2$", "invalid character '$' at position 3"},
           {"1..2", "empty version segment before '.' at position 2"},
           {"1.", "expected a version segment at the end at position 2"},
           {"1!2!3", "duplicated epoch separator '!' at position 3"},
           {"a!1.0", "the epoch must be an integer at position 0"},
           {"1+2+3", "duplicated local version separator '+' at position 3"},
           {"+1.2", "expected a version before '+' at position 0"},
           {"1.2+", "expected a local version after '+' at position 4"},
           {"1-1_1", "cannot use both '-' and '_' as separators at position 3"},
           {"99999999999999999999999", "number too large at position 0"},
       }) {
    auto v = Version::parse(text);
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.error().code(), Code::InvalidArgument);
    EXPECT_NE(v.error().message().find(message), std::string::npos)
        << text << " -> " << v.error().message();
  }
}

TEST(Version, StartsWith) {
  EXPECT_TRUE(V("1.2.3").starts_with(V("1.2")));
  EXPECT_TRUE(V("1.2").starts_with(V("1.2")));
  EXPECT_TRUE(V("1.2a").starts_with(V("1.2")));
  EXPECT_TRUE(V("1.2.3rc1").starts_with(V("1.2.3r")));
  EXPECT_TRUE(V("1").starts_with(V("1.0")));
  EXPECT_FALSE(V("1.20").starts_with(V("1.2")));
  EXPECT_FALSE(V("1.3").starts_with(V("1.2")));
  EXPECT_FALSE(V("1!1.2").starts_with(V("1.2")));
  EXPECT_TRUE(V("1.2.3+4.5").starts_with(V("1.2.3+4")));
  EXPECT_FALSE(V("1.2.3+5").starts_with(V("1.2.3+4")));
}

TEST(Version, CompatibleWith) {
  EXPECT_TRUE(V("1.4.9").compatible_with(V("1.4.5"), 2));
  EXPECT_FALSE(V("1.5.0").compatible_with(V("1.4.5"), 2));
  EXPECT_FALSE(V("1.4.4").compatible_with(V("1.4.5"), 2));
  EXPECT_TRUE(V("2.0").compatible_with(V("1.4"), 0));
  EXPECT_FALSE(V("1!2.0").compatible_with(V("1.4"), 0));
}

}  // namespace
}  // namespace de::conda
