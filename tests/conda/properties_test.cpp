// Property tests over generated input (always run; seed printed, DE_SEED to repeat):
// the version order is a total preorder consistent with hash(); parsers never crash on garbage;
// to_string() of anything that parses gives back an equal value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/version.hpp"
#include "docker_envs/conda/version_spec.hpp"

namespace de::conda {
namespace {

std::uint64_t seed() {
  static const std::uint64_t s = [] {
    std::uint64_t chosen = 0;
    if (const char* e = std::getenv("DE_SEED"); e && *e)
      chosen = std::uint64_t(std::strtoull(e, nullptr, 10));
    else
      chosen = std::uint64_t(std::random_device{}()) << 32 | std::uint64_t(std::random_device{}());
    std::cout << "[properties] seed " << chosen << " (set DE_SEED=" << chosen << " to repeat)\n";
    return chosen;
  }();
  return s;
}

class Gen {
 public:
  Gen() : rng_(seed()) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string from(std::string_view alphabet, int max_len) {
    std::string s;
    for (int n = pick(max_len + 1); n > 0; --n) s += alphabet[pick(int(alphabet.size()))];
    return s;
  }
  // Versions from a small alphabet so that equal and near-equal versions are common.
  std::string version() {
    static const std::vector<std::string> atoms = {"0",  "1",   "2",    "00", "10", "a", "b",
                                                   "rc", "dev", "post", "_",  "*",  "A"};
    std::string s;
    if (pick(8) == 0) s += std::to_string(pick(2)) + "!";
    int segments = 1 + pick(4);
    for (int i = 0; i < segments; ++i) {
      if (i) s += pick(6) == 0 ? "_" : ".";
      int n = 1 + pick(2);
      for (int j = 0; j < n; ++j) {
        std::string a = atoms[pick(int(atoms.size()))];
        if (a == "_") a = "0";
        s += a;
      }
    }
    if (pick(6) == 0) s += "+" + std::to_string(pick(3)) + (pick(2) ? ".a" : "");
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(Properties, OrderIsATotalPreorderConsistentWithHash) {
  Gen gen;
  std::vector<Version> vs;
  while (vs.size() < 400)
    if (auto v = Version::parse(gen.version())) vs.push_back(*v);
  std::sort(vs.begin(), vs.end());
  for (std::size_t i = 0; i < vs.size(); ++i) {
    for (std::size_t j = 0; j < vs.size(); ++j) {
      auto c = vs[i] <=> vs[j];
      // Sorted order agrees with pairwise comparison (transitivity), antisymmetry holds.
      if (i < j) {
        ASSERT_TRUE(c <= 0) << vs[i].to_string() << " vs " << vs[j].to_string();
      }
      ASSERT_EQ(c, 0 <=> (vs[j] <=> vs[i])) << vs[i].to_string() << " vs " << vs[j].to_string();
      if (c == 0) {
        ASSERT_EQ(vs[i].hash(), vs[j].hash()) << vs[i].to_string() << " == " << vs[j].to_string();
      }
    }
  }
}

TEST(Properties, ParsersSurviveGarbageAndRoundTrip) {
  Gen gen;
  const std::string_view alphabet = "0123456789.abdevpost_-+!*=<>~|,()^$ []'\"/:#@";
  for (int i = 0; i < 20000; ++i) {
    std::string text = gen.from(alphabet, 24);
    if (auto v = Version::parse(text)) {
      auto again = Version::parse(v->to_string());
      ASSERT_TRUE(again) << text;
      ASSERT_EQ(*again, *v) << text;
      ASSERT_EQ(again->conda_repr(), v->conda_repr()) << text;
    }
    if (auto s = VersionSpec::parse(text)) {
      auto again = VersionSpec::parse(s->to_string());
      ASSERT_TRUE(again) << text << " -> " << s->to_string() << ": " << again.error().to_string();
      ASSERT_EQ(again->to_string(), s->to_string()) << text;
    }
    if (auto m = MatchSpec::parse(text)) {
      auto again = MatchSpec::parse(m->to_string());
      ASSERT_TRUE(again) << text << " -> " << m->to_string() << ": " << again.error().to_string();
      ASSERT_EQ(again->to_string(), m->to_string()) << text;
    }
  }
}

TEST(Properties, SpecTextKeepsItsMeaning) {
  Gen gen;
  static const std::vector<std::string> ops = {"", "==", "!=", "<", "<=", ">", ">=", "=", "~="};
  std::vector<Version> vs;
  while (vs.size() < 60)
    if (auto v = Version::parse(gen.version())) vs.push_back(*v);
  for (int i = 0; i < 500; ++i) {
    std::string text;
    for (int n = 1 + gen.pick(3), k = 0; k < n; ++k) {
      if (k) text += gen.pick(2) ? "," : "|";
      text += ops[gen.pick(int(ops.size()))] + gen.version() + (gen.pick(4) == 0 ? ".*" : "");
    }
    auto s = VersionSpec::parse(text);
    if (!s) continue;
    auto again = VersionSpec::parse(s->to_string());
    ASSERT_TRUE(again) << text;
    for (const auto& v : vs)
      ASSERT_EQ(s->contains(v), again->contains(v))
          << text << " vs " << s->to_string() << " on " << v.to_string();
    // The same spec inside a match spec keeps its meaning through the canonical form.
    auto m = MatchSpec::parse("pkg[version='" + text + "']");
    ASSERT_TRUE(m) << text << ": " << m.error().to_string();
    auto m2 = MatchSpec::parse(m->to_string());
    ASSERT_TRUE(m2) << m->to_string() << ": " << m2.error().to_string();
    for (const auto& v : vs) {
      PackageRecordView r{.name = "pkg", .version = &v};
      ASSERT_EQ(m->matches(r), m2->matches(r))
          << text << " -> " << m->to_string() << " on " << v.to_string();
    }
  }
}

}  // namespace
}  // namespace de::conda
