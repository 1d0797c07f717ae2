#include "docker_envs/build/layer_plan.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace de::build {
namespace {

std::vector<PlannedPackage> packages(size_t n, std::uint64_t small = 100 << 10) {
  std::vector<PlannedPackage> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back({fmt::format("pkg{:03}", i), (i % 25 == 0) ? (std::uint64_t{50} << 20) : small});
  return out;
}

// Package name -> the set of names sharing its layer.
std::map<std::string, std::set<std::string>> layout(const std::vector<PlannedPackage>& pkgs,
                                                    const std::vector<LayerGroup>& groups) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& g : groups) {
    std::set<std::string> names;
    for (size_t i : g.packages) names.insert(pkgs[i].name);
    for (const auto& n : names) out[n] = names;
  }
  return out;
}

TEST(LayerPlan, ParsesStrategies) {
  EXPECT_EQ(*parse_layer_strategy("auto"), LayerStrategy::Auto);
  EXPECT_EQ(*parse_layer_strategy("per-package"), LayerStrategy::PerPackage);
  EXPECT_EQ(*parse_layer_strategy("single"), LayerStrategy::Single);
  auto bad = parse_layer_strategy("layered");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("per-package"), std::string::npos);
}

TEST(LayerPlan, PerPackageAndSingle) {
  auto pkgs = packages(5);
  auto per = plan_layers(pkgs, {.strategy = LayerStrategy::PerPackage});
  ASSERT_TRUE(per);
  ASSERT_EQ(per->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*per)[i].packages, std::vector<size_t>{i});
  auto single = plan_layers(pkgs, {.strategy = LayerStrategy::Single});
  ASSERT_TRUE(single);
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].packages.size(), 5u);
  EXPECT_TRUE(plan_layers({}, {})->empty());
}

TEST(LayerPlan, AutoIsPerPackageWithinBudget) {
  auto pkgs = packages(10);
  auto plan = plan_layers(pkgs, {.max_layers = 64, .base_layers = 3});
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->size(), 10u);
}

TEST(LayerPlan, AutoKeepsTheBudgetFor300Packages) {
  auto pkgs = packages(300);
  for (size_t base : {0u, 1u, 5u, 20u}) {
    for (size_t max : {10u, 64u, 100u}) {
      if (max < base + 2) continue;
      auto plan = plan_layers(pkgs, {.max_layers = max, .base_layers = base});
      ASSERT_TRUE(plan) << plan.error().to_string();
      EXPECT_LE(base + plan->size() + 1, max) << "base " << base << " max " << max;
      // Every package is in exactly one layer, in install order inside it.
      std::vector<int> seen(pkgs.size(), 0);
      for (const auto& g : *plan) {
        EXPECT_TRUE(std::is_sorted(g.packages.begin(), g.packages.end()));
        for (size_t i : g.packages) seen[i]++;
      }
      for (int s : seen) EXPECT_EQ(s, 1);
    }
  }
  // Big packages get their own layer.
  auto plan = plan_layers(pkgs, {.max_layers = 64, .base_layers = 2});
  ASSERT_TRUE(plan);
  auto l = layout(pkgs, *plan);
  EXPECT_EQ(l["pkg000"], std::set<std::string>{"pkg000"});
  EXPECT_EQ(l["pkg025"], std::set<std::string>{"pkg025"});
  EXPECT_GT(l["pkg001"].size(), 1u);
}

TEST(LayerPlan, BumpingOnePackageChangesOnlyItsOwnGroup) {
  auto before = packages(300);
  auto after = before;
  after[137].size += 4096;  // a new version: other bytes, same name
  auto a = plan_layers(before, {.max_layers = 64, .base_layers = 1});
  auto b = plan_layers(after, {.max_layers = 64, .base_layers = 1});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(layout(before, *a), layout(after, *b));
  // Removing one small package leaves every other package's group as it was (minus it).
  auto removed = before;
  removed.erase(removed.begin() + 42);
  auto c = plan_layers(removed, {.max_layers = 64, .base_layers = 1});
  ASSERT_TRUE(c);
  auto la = layout(before, *a), lc = layout(removed, *c);
  for (auto& [name, group] : la) {
    if (name == "pkg042") continue;
    group.erase("pkg042");
    EXPECT_EQ(lc[name], group) << name;
  }
}

TEST(LayerPlan, RefusesABudgetTheBaseAlreadyUses) {
  auto pkgs = packages(300);
  auto plan = plan_layers(pkgs, {.max_layers = 10, .base_layers = 9});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code(), Code::InvalidArgument);
  EXPECT_NE(plan.error().message().find("max_layers 10"), std::string::npos);
}

}  // namespace
}  // namespace de::build
