#include "docker_envs/pypi/specifier.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace de::pypi {
namespace {

Version V(std::string_view text) {
  auto v = Version::parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : Version();
}

SpecifierSet S(std::string_view text) {
  auto s = SpecifierSet::parse(text);
  EXPECT_TRUE(s) << text << ": " << (s ? "" : s.error().to_string());
  return s ? *s : SpecifierSet();
}

// Matching without the pre-release policy (what the PEP's examples show).
bool M(std::string_view spec, std::string_view version) { return S(spec).matches(V(version)); }

TEST(PypiSpecifier, VersionMatchingFromThePep) {
  // version 1.1.post1
  EXPECT_FALSE(M("==1.1", "1.1.post1"));
  EXPECT_TRUE(M("==1.1.post1", "1.1.post1"));
  EXPECT_TRUE(M("==1.1.*", "1.1.post1"));
  // version 1.1a1
  EXPECT_FALSE(M("==1.1", "1.1a1"));
  EXPECT_TRUE(M("==1.1a1", "1.1a1"));
  EXPECT_TRUE(M("==1.1.*", "1.1a1"));
  // version 1.1
  EXPECT_TRUE(M("==1.1", "1.1"));
  EXPECT_TRUE(M("==1.1.0", "1.1"));
  EXPECT_FALSE(M("==1.1.dev1", "1.1"));
  EXPECT_FALSE(M("==1.1a1", "1.1"));
  EXPECT_FALSE(M("==1.1.post1", "1.1"));
  EXPECT_TRUE(M("==1.1.*", "1.1"));
  // Prefix matching pads and ignores what follows.
  EXPECT_TRUE(M("==1.1.*", "1.1.5"));
  EXPECT_TRUE(M("==1.1.*", "1.1.0.dev1"));
  EXPECT_FALSE(M("==1.1.*", "1.2"));
  EXPECT_FALSE(M("==1.1.*", "1.10"));
  EXPECT_TRUE(M("==1.0.*", "1"));
  EXPECT_TRUE(M("==1.*", "1.9.9"));
  EXPECT_FALSE(M("==1.*", "1!1.0"));
  EXPECT_TRUE(M("==1!1.*", "1!1.0"));
  EXPECT_TRUE(M("==1.1a1.*", "1.1a1.post3"));
  EXPECT_TRUE(M("==1.1a1.*", "1.1.0a1"));
  EXPECT_FALSE(M("==1.1a1.*", "1.1a2"));
  EXPECT_FALSE(M("==1.1a1.*", "1.1"));
  EXPECT_TRUE(M("==1.1.post1.*", "1.1.post1.dev2"));
  EXPECT_FALSE(M("==1.1.post1.*", "1.1.post2"));
  EXPECT_TRUE(M("!=1.1.*", "1.2"));
  EXPECT_FALSE(M("!=1.1.*", "1.1.3"));
  EXPECT_FALSE(M("!=1.1", "1.1.0"));
  EXPECT_TRUE(M("!=1.1", "1.1.post1"));
}

TEST(PypiSpecifier, LocalVersions) {
  // A candidate's local label is ignored unless the specifier has one itself.
  EXPECT_TRUE(M("==1.0", "1.0+ubuntu.1"));
  EXPECT_TRUE(M("==1.0.*", "1.0+ubuntu.1"));
  EXPECT_TRUE(M("==1.0+ubuntu.1", "1.0+ubuntu.1"));
  EXPECT_FALSE(M("==1.0+ubuntu.1", "1.0+ubuntu.2"));
  EXPECT_FALSE(M("==1.0+ubuntu.1", "1.0"));
  EXPECT_FALSE(M("!=1.0", "1.0+x"));
  EXPECT_TRUE(M("!=1.0+x", "1.0+y"));
  EXPECT_TRUE(M(">=1.0", "1.0+x"));
  EXPECT_TRUE(M("<=1.0", "1.0+x"));
  EXPECT_FALSE(M(">1.0", "1.0+x"));  // ">V must not match a local version of V"
  EXPECT_FALSE(M("<1.0", "1.0+x"));
  EXPECT_TRUE(M("~=1.0", "1.5+x"));
}

TEST(PypiSpecifier, CompatibleRelease) {
  // ~=2.2 is >=2.2,==2.*; ~=1.4.5 is >=1.4.5,==1.4.*; ~=2.2.post3 is >=2.2.post3,==2.*;
  // ~=1.4.5a4 is >=1.4.5a4,==1.4.*; ~=2.2.0 is >=2.2.0,==2.2.*; ~=1!1.0 keeps the epoch.
  EXPECT_TRUE(M("~=2.2", "2.2"));
  EXPECT_TRUE(M("~=2.2", "2.9"));
  EXPECT_FALSE(M("~=2.2", "3.0"));
  EXPECT_FALSE(M("~=2.2", "2.1"));
  EXPECT_TRUE(M("~=1.4.5", "1.4.9"));
  EXPECT_FALSE(M("~=1.4.5", "1.5.0"));
  EXPECT_FALSE(M("~=1.4.5", "1.4.4"));
  EXPECT_TRUE(M("~=2.2.post3", "2.2.post3"));
  EXPECT_TRUE(M("~=2.2.post3", "2.3"));
  EXPECT_FALSE(M("~=2.2.post3", "2.2"));
  EXPECT_TRUE(M("~=1.4.5a4", "1.4.5"));
  EXPECT_TRUE(M("~=1.4.5a4", "1.4.5a4"));
  EXPECT_FALSE(M("~=1.4.5a4", "1.4.5a3"));
  EXPECT_TRUE(M("~=2.2.0", "2.2.8"));
  EXPECT_FALSE(M("~=2.2.0", "2.3.0"));
  EXPECT_TRUE(M("~=1!1.0", "1!1.5"));
  EXPECT_FALSE(M("~=1!1.0", "1.5"));
  EXPECT_TRUE(M("~=1.0", "1.0.post1"));
}

TEST(PypiSpecifier, ExclusiveOrderedComparison) {
  // ">1.7 will allow 1.7.1 but will not allow 1.7.0.post1"; ">1.7.post2 allows 1.7.1 and
  // 1.7.0.post3 but not 1.7.0"; "<3.1 will not allow 3.1.dev0 nor 3.1a1"; "<3.1rc1 allows
  // 3.1a1" and the dev releases before it.
  EXPECT_TRUE(M(">1.7", "1.7.1"));
  EXPECT_FALSE(M(">1.7", "1.7.0.post1"));
  EXPECT_FALSE(M(">1.7", "1.7"));
  EXPECT_TRUE(M(">1.7.post2", "1.7.1"));
  EXPECT_TRUE(M(">1.7.post2", "1.7.0.post3"));
  EXPECT_FALSE(M(">1.7.post2", "1.7.0"));
  EXPECT_FALSE(M(">1.7.post2", "1.7.post2"));
  EXPECT_TRUE(M("<3.1", "3.0.9"));
  EXPECT_TRUE(M("<3.1", "3.0rc1"));  // a pre-release of another release
  EXPECT_FALSE(M("<3.1", "3.1.dev0"));
  EXPECT_FALSE(M("<3.1", "3.1a1"));
  EXPECT_TRUE(M("<3.1rc1", "3.1a1"));
  EXPECT_TRUE(M("<3.1rc1", "3.1.dev0"));
  EXPECT_FALSE(M("<3.1rc1", "3.1rc1"));
  EXPECT_TRUE(M(">=1.0", "1.0"));
  EXPECT_TRUE(M("<=1.0", "1.0"));
  EXPECT_FALSE(M("<=1.0", "1.0.post1"));
  EXPECT_TRUE(M(">=1.0", "1.0.post1"));
  EXPECT_FALSE(M(">=1.0", "1.0rc1"));
  EXPECT_TRUE(M("<=1.0", "1.0rc1"));
}

TEST(PypiSpecifier, ArbitraryEquality) {
  EXPECT_TRUE(M("===1.0", "1.0"));
  EXPECT_FALSE(M("===1.0", "1.0.0"));
  EXPECT_TRUE(M("===1.0RC1", "1.0rc1"));
  EXPECT_TRUE(M("===V1.0", "v1.0"));  // the text as written counts
  auto s = Specifier::parse("===foobar");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->arbitrary(), "foobar");
  EXPECT_EQ(s->to_string(), "===foobar");
}

TEST(PypiSpecifier, Sets) {
  EXPECT_TRUE(M(">=1.0,<2", "1.5"));
  EXPECT_FALSE(M(">=1.0,<2", "2.0"));
  EXPECT_TRUE(M(" >= 1.0 , != 1.3.* , < 2 ", "1.4"));
  EXPECT_FALSE(M(">=1.0,!=1.3.*,<2", "1.3.1"));
  EXPECT_TRUE(M("", "7"));
  EXPECT_EQ(S(" >= 1.0 , != 1.3.* , < 2 ").to_string(), ">=1.0,!=1.3.*,<2");
  EXPECT_EQ(S("~=01.04.5").to_string(), "~=1.4.5");
  EXPECT_EQ(S(S(">=1.0rc1,<2").to_string()), S(">=1.0rc1,<2"));
  EXPECT_EQ(S(">=1").intersect(S("<2")).to_string(), ">=1,<2");
}

TEST(PypiSpecifier, Invalid) {
  for (const char* bad : {"1.0", "=1.0", "=>1.0", ">=", ">=1.0,", ",>=1.0", ">=1.0,,<2", "~=1",
                          "~=1.0.*", ">=1.0.*", "<1.0+local", "~=1.0+local", "==1.0.dev1.*",
                          "==1.0+foo.*", "== 1.0 .*", "=== a b", ">=1.0 <2", "==1.*.1",
                          ">=abc"}) {
    auto s = SpecifierSet::parse(bad);
    EXPECT_FALSE(s) << "'" << bad << "' parsed as " << (s ? s->to_string() : "");
  }
  auto e = SpecifierSet::parse(">=1.0,~=1");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("~=1"), std::string::npos) << e.error().message();
}

TEST(PypiSpecifier, PreReleasePolicy) {
  // Excluded by default, accepted when asked for, when a specifier names one, or when nothing
  // else matches.
  EXPECT_FALSE(S(">=1.0").contains(V("2.0b1")));
  EXPECT_TRUE(S(">=1.0").contains(V("2.0b1"), true));
  EXPECT_TRUE(S(">=2.0b1").contains(V("2.0b2")));
  EXPECT_TRUE(S(">=1.0").contains(V("2.0")));
  EXPECT_FALSE(S("!=2.0b1").contains(V("2.0b2")));  // excluding one is no request for others
  EXPECT_FALSE(S("").contains(V("1.0.dev1")));
  EXPECT_TRUE(S("").contains(V("1.0.post1")));  // post-releases are not pre-releases
  EXPECT_TRUE(S("==1.0.dev1").contains(V("1.0.dev1")));

  std::vector<Version> all{V("1.0"), V("1.1"), V("2.0a1"), V("2.0b1")};
  auto some = S(">=1.0").filter(all);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[1], V("1.1"));
  auto only_pre = S(">=2.0.dev0,<3").filter(all);  // names a pre-release: all of them allowed
  EXPECT_EQ(only_pre.size(), 2u);
  auto fallback = S(">1.5").filter(all);  // nothing final fits: the pre-releases do
  ASSERT_EQ(fallback.size(), 2u);
  EXPECT_EQ(fallback[0], V("2.0a1"));
  EXPECT_EQ(S(">=1.0").filter(all, true).size(), 4u);
  EXPECT_TRUE(S(">=3").filter(all).empty());
}

}  // namespace
}  // namespace de::pypi
