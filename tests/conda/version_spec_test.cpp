#include "docker_envs/conda/version_spec.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace de::conda {
namespace {

VersionSpec S(std::string_view text) {
  auto s = VersionSpec::parse(text);
  EXPECT_TRUE(s) << text << ": " << s.error().to_string();
  return s ? *s : VersionSpec();
}

bool contains(std::string_view spec, std::string_view version) {
  auto v = Version::parse(version);
  EXPECT_TRUE(v) << version;
  return v && S(spec).contains(*v);
}

TEST(VersionSpec, Operators) {
  EXPECT_TRUE(contains("*", "0.0.1"));
  EXPECT_TRUE(contains("", "3"));
  EXPECT_TRUE(contains("==1.2", "1.2.0"));
  EXPECT_FALSE(contains("==1.2", "1.2.1"));
  EXPECT_TRUE(contains("1.2", "1.2.0"));
  EXPECT_FALSE(contains("1.2", "1.2.1"));  // a bare version is an exact match
  EXPECT_TRUE(contains("!=1.2", "1.2.1"));
  EXPECT_FALSE(contains("!=1.2", "1.2.0"));
  EXPECT_TRUE(contains("<1.2", "1.2a"));
  EXPECT_TRUE(contains("<=1.2", "1.2"));
  EXPECT_TRUE(contains(">1.2", "1.2.0.1"));
  EXPECT_FALSE(contains(">=1.2", "1.2rc1"));
  EXPECT_TRUE(contains("=1.2", "1.2.7"));
  EXPECT_TRUE(contains("=1.2", "1.2"));
  EXPECT_FALSE(contains("=1.2", "1.20"));
  EXPECT_TRUE(contains("1.2.*", "1.2.7"));
  EXPECT_TRUE(contains("1.2*", "1.2.7"));
  EXPECT_TRUE(contains("!=1.2.*", "1.3"));
  EXPECT_FALSE(contains("!=1.2.*", "1.2.3"));
  EXPECT_TRUE(contains(">=1.2.*", "1.2"));  // trailing .* ignored for ordered comparisons
  EXPECT_TRUE(contains("~=1.4.5", "1.4.9"));
  EXPECT_FALSE(contains("~=1.4.5", "1.5"));
  EXPECT_FALSE(contains("~=1.4.5", "1.4.4"));
  EXPECT_TRUE(contains("1.*.3", "1.7.3"));
  EXPECT_FALSE(contains("1.*.3", "1.7.4"));
  EXPECT_TRUE(contains("^1\\.7\\.[0-9]+$", "1.7.12"));
  EXPECT_FALSE(contains("^1\\.8.*$", "1.7.1"));
  EXPECT_TRUE(contains("1!2.0", "1!2"));
  EXPECT_FALSE(contains("2.0", "1!2.0"));
}

TEST(VersionSpec, AndBindsTighterThanOr) {
  EXPECT_TRUE(contains("1.5|>2,<3", "1.5"));
  EXPECT_TRUE(contains("1.5|>2,<3", "2.5"));
  EXPECT_FALSE(contains("1.5|>2,<3", "3.5"));
  EXPECT_FALSE(contains("(1.5|>2),<3", "3.5"));
  EXPECT_TRUE(contains("(1.5|>2),<3", "1.5"));
  EXPECT_TRUE(contains(">=2.7, !=3.0.*, !=3.1.*", "3.2"));
  EXPECT_FALSE(contains(">=2.7, !=3.0.*, !=3.1.*", "3.1.4"));
  EXPECT_TRUE(contains("((1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", "2.1"));
}

TEST(VersionSpec, CanonicalText) {
  struct Case {
    std::string_view in, out;
  };
  for (auto [in, out] : std::vector<Case>{
           {"", "*"},
           {" * ", "*"},
           {">= 1.7", ">=1.7"},
           {"1.7*", "1.7.*"},
           {"=1.7", "=1.7"},
           {">=2.7, !=3.0.*", ">=2.7,!=3.0.*"},
           {"(1.5|1.6),<2", "(1.5|1.6),<2"},
           {"(1.5,1.6)|2", "1.5,1.6|2"},
           {"((1.5))", "1.5"},
           {"1.5|(1.6|1.7)", "1.5|1.6|1.7"},
           {"^1\\.7.*$", "^1\\.7.*$"},
       }) {
    VersionSpec spec = S(in);
    EXPECT_EQ(spec.to_string(), out) << in;
    EXPECT_EQ(S(spec.to_string()), spec) << in;
  }
  EXPECT_TRUE(S("*").is_any());
  EXPECT_TRUE(S("==1.2").is_exact());
  EXPECT_TRUE(S("1.2").is_exact());
  EXPECT_FALSE(S("1.2.*").is_exact());
}

TEST(VersionSpec, ErrorsPointAtTheProblem) {
  struct Case {
    std::string_view in, message;
  };
  for (auto [in, message] : std::vector<Case>{
           {">=1.2,<",
            "invalid version spec '>=1.2,<': expected a version after '<' at position 7"},
           {"(1.5", "expected ')' to close the '(' from position 0 at position 4"},
           {"1.5)", "unmatched ')' at position 3"},
           {"1.5||1.6", "expected a version between '|' and '|' at position 4"},
           {",1.5", "expected a version before ',' at position 0"},
           {"===3.3.2", "invalid operator '===' at position 0"},
           {"><2.4.5", "invalid operator '><' at position 0"},
           {"!!2.4.5", "invalid operator '!!' at position 0"},
           {"~", "invalid operator '~' at position 0"},
           {"~=3.3.2.*", "'~=' cannot be combined with '*' at position 8"},
           {"^1.5", "must end with '$' at position 0"},
           {"1.5$", "must start with '^' and end with '$' at position 3"},
           {">=1.2,<2 3", "unexpected whitespace inside a version at position 8"},
           {">=1..2",
            "invalid version spec '>=1..2' (version at position 2): invalid version '1..2': empty "
            "version segment before '.' at position 2"},
           {"1.2(", "unexpected '(' (missing ',' or '|' before it?) at position 3"},
           {"^(1$", "invalid regular expression"},
       }) {
    auto s = VersionSpec::parse(in);
    ASSERT_FALSE(s) << in << " parsed as " << s->to_string();
    EXPECT_EQ(s.error().code(), Code::InvalidArgument);
    EXPECT_NE(s.error().to_string().find(message), std::string::npos)
        << in << " -> " << s.error().to_string();
  }
}

// Issue 13 (fuzzing): regexes are matched by an engine that cannot blow up. A huge
// back-reference was undefined behaviour in libstdc++'s regex compiler, and stacked or nested
// quantifiers made std::regex backtrack for minutes.
TEST(VersionSpec, RegexesThatCouldBlowUpAreRefusedOrMatchedInLinearTime) {
  for (auto [in, message] : std::vector<std::pair<std::string, std::string>>{
           {"^\\7777777777777777777$", "back-references are not supported"},
           {"^\\1$", "back-references are not supported"},
           {std::string("^.****\x0e$"), "a quantifier cannot follow another quantifier"},
           {"^(?=1).*$", "look-arounds are not supported"},
           {"^1{1001}$", "a repeat count over 1000"},
           {"^((1{100}){100})$", "too complex"},
           {"^" + std::string(2000, '1') + "$", "at most 1024"},
       }) {
    auto s = VersionSpec::parse(in);
    ASSERT_FALSE(s) << in;
    EXPECT_NE(s.error().to_string().find(message), std::string::npos) << s.error().to_string();
  }
  // Nested stars: exponential for a backtracking matcher, linear here.
  auto spec = S("^(.*)*(.*)*(.*)*(.*)*x$");
  std::string text = "1";
  for (int i = 2; i < 200; ++i) text += "." + std::to_string(i);
  auto version = Version::parse(text);
  ASSERT_TRUE(version);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(spec.contains(*version));
  EXPECT_TRUE(S("^(1.*)*(.*)*9$").contains(*version));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // What conda's patterns use still works.
  EXPECT_TRUE(contains("^1\\.(7|8)\\.\\d{1,2}$", "1.8.10"));
  EXPECT_FALSE(contains("^1\\.(7|8)\\.\\d{1,2}$", "1.9.1"));
  EXPECT_TRUE(contains("^(?:[0-9]+\\.)+[0-9]+$", "3.11.4"));
  EXPECT_TRUE(contains("^[^a-z]+$", "3.11.4"));
  EXPECT_FALSE(contains("^[^a-z]+$", "3.11.4a1"));
}

}  // namespace
}  // namespace de::conda
