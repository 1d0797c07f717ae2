#include "docker_envs/pypi/version.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace de::pypi {
namespace {

Version V(std::string_view text) {
  auto v = Version::parse(text);
  EXPECT_TRUE(v) << text << ": " << (v ? "" : v.error().to_string());
  return v ? *v : Version();
}

std::string norm(std::string_view text) { return V(text).to_string(); }

TEST(PypiVersion, NormalisationFromThePep) {
  // PEP 440 "Normalization": case, separators, spellings, implicit numbers, leading v, padding.
  EXPECT_EQ(norm("1.0"), "1.0");
  EXPECT_EQ(norm("  1.0\n"), "1.0");
  EXPECT_EQ(norm("v1.0"), "1.0");
  EXPECT_EQ(norm("V1.0"), "1.0");
  EXPECT_EQ(norm("1.1RC1"), "1.1rc1");
  EXPECT_EQ(norm("00"), "0");
  EXPECT_EQ(norm("09000"), "9000");
  EXPECT_EQ(norm("1.0.007"), "1.0.7");
  EXPECT_EQ(norm("1.1.a1"), "1.1a1");
  EXPECT_EQ(norm("1.1-a1"), "1.1a1");
  EXPECT_EQ(norm("1.1_a1"), "1.1a1");
  EXPECT_EQ(norm("1.0a.1"), "1.0a1");
  EXPECT_EQ(norm("1.0a-1"), "1.0a1");
  EXPECT_EQ(norm("1.0alpha1"), "1.0a1");
  EXPECT_EQ(norm("1.0beta2"), "1.0b2");
  EXPECT_EQ(norm("1.0c3"), "1.0rc3");
  EXPECT_EQ(norm("1.0pre4"), "1.0rc4");
  EXPECT_EQ(norm("1.0preview5"), "1.0rc5");
  EXPECT_EQ(norm("1.2a"), "1.2a0");
  EXPECT_EQ(norm("1.2.post"), "1.2.post0");
  EXPECT_EQ(norm("1.2post2"), "1.2.post2");
  EXPECT_EQ(norm("1.2-post2"), "1.2.post2");
  EXPECT_EQ(norm("1.2_post2"), "1.2.post2");
  EXPECT_EQ(norm("1.2.post-2"), "1.2.post2");
  EXPECT_EQ(norm("1.0-r4"), "1.0.post4");
  EXPECT_EQ(norm("1.0rev4"), "1.0.post4");
  EXPECT_EQ(norm("1.0-1"), "1.0.post1");
  EXPECT_EQ(norm("1.2dev2"), "1.2.dev2");
  EXPECT_EQ(norm("1.2-dev2"), "1.2.dev2");
  EXPECT_EQ(norm("1.2.dev"), "1.2.dev0");
  EXPECT_EQ(norm("1.0+ubuntu-1"), "1.0+ubuntu.1");
  EXPECT_EQ(norm("1.0+UBUNTU_1"), "1.0+ubuntu.1");
  EXPECT_EQ(norm("1.0+abc.007"), "1.0+abc.7");
  EXPECT_EQ(norm("1!2.0rc1.post3.dev4+x.1"), "1!2.0rc1.post3.dev4+x.1");
  EXPECT_EQ(norm("0!1.0"), "1.0");
  EXPECT_EQ(V("1.0C3").original(), "1.0C3");
}

TEST(PypiVersion, Parts) {
  Version v = V("2!1.2.3b4.post5.dev6+loc.7");
  EXPECT_EQ(v.epoch(), 2u);
  EXPECT_EQ(v.release(), (std::vector<std::uint64_t>{1, 2, 3}));
  ASSERT_TRUE(v.pre());
  EXPECT_EQ(v.pre()->kind, Version::PreKind::Beta);
  EXPECT_EQ(v.pre()->number, 4u);
  EXPECT_EQ(v.post(), 5u);
  EXPECT_EQ(v.dev(), 6u);
  ASSERT_EQ(v.local().size(), 2u);
  EXPECT_FALSE(v.local()[0].is_number);
  EXPECT_EQ(v.local()[0].text, "loc");
  EXPECT_TRUE(v.local()[1].is_number);
  EXPECT_TRUE(v.is_prerelease());
  EXPECT_TRUE(v.is_postrelease());
  EXPECT_EQ(v.public_version().to_string(), "2!1.2.3b4.post5.dev6");
  EXPECT_EQ(v.base_version().to_string(), "2!1.2.3");
  EXPECT_FALSE(V("1.0.post1").is_prerelease());
  EXPECT_TRUE(V("1.0.dev1").is_prerelease());
  EXPECT_TRUE(V("1.0.post1.dev1").is_prerelease());
}

TEST(PypiVersion, Invalid) {
  for (const char* bad : {"", " ", "a", "1.", "1..0", ".1", "1.0+", "1.0+a..b", "1.0++a", "1!",
                          "1.0 1", "1.0-", "1.0foo", "1.0ab", "1.0.post1.post2", "1.0.dev1a1",
                          "1.0+a b", "1.0+-a", "99999999999999999999999", "1!!2", "1.0a1b1",
                          "*", "1.*"}) {
    auto v = Version::parse(bad);
    EXPECT_FALSE(v) << "'" << bad << "' parsed as " << (v ? v->to_string() : "");
    if (!v) {
      EXPECT_NE(v.error().message().find("invalid version"), std::string::npos);
    }
  }
  auto e = Version::parse("1.0foo");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("position 3"), std::string::npos) << e.error().message();
}

TEST(PypiVersion, OrderFromThePep) {
  // The order given in PEP 440 "Summary of permitted suffixes and relative ordering", plus epochs
  // and local labels.
  std::vector<std::string> ordered{
      "1.0.dev456", "1.0a1",       "1.0a2.dev456",      "1.0a12.dev456",  "1.0a12",
      "1.0b1.dev456", "1.0b2",     "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456",
      "1.0rc1",     "1.0",         "1.0+abc.5",         "1.0+abc.7",      "1.0+5",
      "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1.1",
      "2.0",        "10.0",        "1!0.1",             "1!1.0"};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    EXPECT_LT(V(ordered[i]), V(ordered[i + 1])) << ordered[i] << " < " << ordered[i + 1];
    EXPECT_GT(V(ordered[i + 1]), V(ordered[i]));
  }
  // Sorting a shuffled copy gives the same sequence.
  std::vector<Version> vs;
  for (const auto& s : ordered) vs.push_back(V(s));
  std::mt19937 rng(7);
  std::shuffle(vs.begin(), vs.end(), rng);
  std::sort(vs.begin(), vs.end());
  for (std::size_t i = 0; i < vs.size(); ++i) EXPECT_EQ(vs[i].original(), ordered[i]);
}

TEST(PypiVersion, LocalOrdering) {
  EXPECT_LT(V("1.0"), V("1.0+a"));
  EXPECT_LT(V("1.0+a"), V("1.0+b"));
  EXPECT_LT(V("1.0+a"), V("1.0+a.1"));      // longer with the same start is greater
  EXPECT_LT(V("1.0+zzz"), V("1.0+0"));      // numbers above strings
  EXPECT_LT(V("1.0+2"), V("1.0+10"));       // numerically
  EXPECT_LT(V("1.0+abc"), V("1.0.post0"));  // local sorts within its public version
}

TEST(PypiVersion, EqualityPadsZerosAndHashesAlike) {
  EXPECT_EQ(V("1.0"), V("1.0.0"));
  EXPECT_EQ(V("1"), V("1.0.0.0"));
  EXPECT_EQ(V("1.0a1"), V("1.0.0a1"));
  EXPECT_EQ(V("v1.0RC1"), V("1.0c1"));
  EXPECT_EQ(V("0!1.0"), V("1.0"));
  EXPECT_NE(V("1.0"), V("1.0+0"));
  EXPECT_NE(V("1.0"), V("1.0.post0"));
  EXPECT_NE(V("1.0"), V("1.0.dev0"));
  EXPECT_EQ(std::hash<Version>()(V("1.0")), std::hash<Version>()(V("1.0.0")));
  EXPECT_EQ(std::hash<Version>()(V("1.0a1")), std::hash<Version>()(V("1.0.0alpha1")));
}

TEST(PypiVersion, RoundTrip) {
  for (const char* text : {"0", "1.0", "2012.10", "1!1.0", "1.0a0", "1.0b9", "1.0rc10",
                           "1.0.post1", "1.0.dev0", "1.0a1.post2.dev3", "1.0+1.2.abc"}) {
    Version v = V(text);
    EXPECT_EQ(v.to_string(), text);
    EXPECT_EQ(V(v.to_string()), v);
  }
}

// Found by scripts/fuzz.sh: a version within the 1024-character limit whose normalized form
// ("1r" is "1.post0") is not, so that what it printed did not parse again. The limit holds for
// both.
TEST(PypiVersion, TheLengthLimitHoldsForTheNormalizedFormToo) {
  const std::string fits = "1r+" + std::string(1016, 'a');  // normalized: 1024 characters
  auto v = Version::parse(fits);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->to_string().size(), 1024u);
  auto again = Version::parse(v->to_string());
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, *v);
  const std::string grows = "1r+" + std::string(1021, 'a');  // 1024 as written, 1029 normalized
  auto refused = Version::parse(grows);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("once normalized"), std::string::npos)
      << refused.error().message();
  EXPECT_FALSE(Version::parse(std::string(1025, '1')));
}

TEST(PypiName, Normalisation) {
  EXPECT_EQ(normalize_name("Django"), "django");
  EXPECT_EQ(normalize_name("zope.interface"), "zope-interface");
  EXPECT_EQ(normalize_name("Foo__Bar--baz..Q"), "foo-bar-baz-q");
  EXPECT_EQ(normalize_name("a-_.b"), "a-b");
  EXPECT_TRUE(is_valid_name("A"));
  EXPECT_TRUE(is_valid_name("zope.interface"));
  EXPECT_TRUE(is_valid_name("a_b-c.d9"));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("-a"));
  EXPECT_FALSE(is_valid_name("a-"));
  EXPECT_FALSE(is_valid_name("a b"));
  EXPECT_FALSE(is_valid_name("a+b"));
}

}  // namespace
}  // namespace de::pypi
