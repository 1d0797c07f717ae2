// The solver's rules on small repositories generated in the test (no shared test data needed).
#include "docker_envs/conda/solver.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "conda/solver_internal.hpp"
#include "docker_envs/conda/virtual_packages.hpp"

namespace de::conda {
namespace {

// A package for a generated channel: "name version build [build_number]" plus deps.
struct Pkg {
  std::string name, version, build = "0";
  std::vector<std::string> depends = {};
  std::vector<std::string> constrains = {};
  int build_number = 0;
  std::string track_features = "";
  std::string subdir = "linux-64";
  std::int64_t timestamp = 0;
};

Repodata repodata(const std::string& channel, const std::vector<Pkg>& pkgs,
                  const std::string& subdir = "linux-64") {
  nlohmann::json packages = nlohmann::json::object();
  for (const auto& p : pkgs) {
    if (p.subdir != subdir) continue;
    nlohmann::json r = {{"name", p.name},
                        {"version", p.version},
                        {"build", p.build},
                        {"build_number", p.build_number},
                        {"depends", p.depends},
                        {"constrains", p.constrains},
                        {"subdir", p.subdir},
                        {"timestamp", p.timestamp},
                        {"md5", "d7c89558ba9fa0495403155b64376d81"}};
    if (!p.track_features.empty()) r["track_features"] = p.track_features;
    if (p.subdir == "noarch") r["noarch"] = "generic";
    packages[p.name + "-" + p.version + "-" + p.build + ".conda"] = r;
  }
  nlohmann::json doc = {{"info", {{"subdir", subdir}}}, {"packages.conda", packages}};
  auto parsed = Repodata::parse(
      doc.dump(),
      {.channel = channel, .subdir_url = "https://example.org/" + channel + "/" + subdir});
  EXPECT_TRUE(parsed) << parsed.error().to_string();
  return std::move(*parsed);
}

ChannelRepodata channel(const std::string& name, const std::vector<Pkg>& pkgs) {
  ChannelRepodata c{.channel = name, .subdirs = {}};
  c.subdirs.push_back(repodata(name, pkgs, "linux-64"));
  c.subdirs.push_back(repodata(name, pkgs, "noarch"));
  return c;
}

SolveInput input(std::vector<ChannelRepodata> channels, std::vector<std::string> specs) {
  SolveInput in;
  in.channels = std::move(channels);
  in.specs = std::move(specs);
  in.virtual_packages = *virtual_packages("linux-64");
  return in;
}

SolveOutcome solve(const SolveInput& in) {
  auto outcome = make_libsolv_solver()->solve(in);
  EXPECT_TRUE(outcome) << outcome.error().to_string();
  return std::move(*outcome);
}

// "name-version-build" of each record, in order.
std::vector<std::string> dists(const SolveOutcome& o) {
  std::vector<std::string> out;
  if (auto* s = std::get_if<Solution>(&o))
    for (const auto& r : s->packages) out.push_back(r.dist_name());
  return out;
}

std::string explanation(const SolveOutcome& o) {
  if (auto* u = std::get_if<Unsolvable>(&o)) return u->explanation;
  return "(solved: " + fmt::format("{}", fmt::join(dists(o), " ")) + ")";
}

TEST(Solver, DependenciesFirstNewestChosen) {
  auto in = input({channel("c", {{"a", "1.0", "0", {"b >=2"}},
                                 {"b", "1", "0"},
                                 {"b", "2", "0"},
                                 {"b", "3", "0", {"c"}},
                                 {"c", "1", "0"}})},
                  {"a"});
  auto o = solve(in);
  EXPECT_EQ(dists(o), (std::vector<std::string>{"c-1-0", "b-3-0", "a-1.0-0"}));
  const auto& s = std::get<Solution>(o);
  EXPECT_EQ(s.packages[0].url, "https://example.org/c/linux-64/c-1-0.conda");
  EXPECT_EQ(s.packages[0].channel, "c");
  ASSERT_TRUE(s.packages[0].md5);
}

TEST(Solver, VersionOrderIsCondas) {
  // 1.10 > 1.9 (not text order); 1.0rc1 < 1.0; a `post` release after the release.
  auto in =
      input({channel("c", {{"a", "1.9", "0"}, {"a", "1.10", "0"}, {"a", "1.10rc1", "0"}})}, {"a"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-1.10-0"});
  in = input({channel("c", {{"a", "1.0rc1", "0"}, {"a", "1.0", "0"}})}, {"a <1.0"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-1.0rc1-0"});
}

TEST(Solver, HigherBuildNumberThenNewerTimestamp) {
  auto in = input({channel("c", {{"a", "1", "h1_1", {}, {}, 1},
                                 {"a", "1", "h2_3", {}, {}, 3},
                                 {"a", "1", "h3_2", {}, {}, 2}})},
                  {"a"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-1-h2_3"});
  Pkg old{"a", "1", "old"}, fresh{"a", "1", "new"};
  old.timestamp = 1000;
  fresh.timestamp = 2000;
  EXPECT_EQ(dists(solve(input({channel("c", {fresh, old})}, {"a"}))),
            std::vector<std::string>{"a-1-new"});
}

TEST(Solver, BuildStringGlobsAndBracketSpecs) {
  auto in = input({channel("c", {{"a", "1", "0", {"py 3.* *_cp*"}},
                                 {"py", "3.12", "h_pp", {}, {}, 0},
                                 {"py", "3.11", "h_cp", {}, {}, 0},
                                 {"py", "2.7", "h_cp", {}, {}, 0}})},
                  {"a"});
  EXPECT_EQ(dists(solve(in)), (std::vector<std::string>{"py-3.11-h_cp", "a-1-0"}));
  in = input({channel("c", {{"x", "1", "a", {}, {}, 1}, {"x", "1", "b", {}, {}, 2}})},
             {"x[build_number='<2']"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"x-1-a"});
}

TEST(Solver, ConstrainsRestrictWithoutInstalling) {
  std::vector<Pkg> pkgs = {
      {"a", "1", "0", {}, {"c <2"}}, {"c", "1", "0"}, {"c", "2", "0"}, {"d", "1", "0", {"c"}}};
  // Alone, `a` does not pull in c.
  EXPECT_EQ(dists(solve(input({channel("ch", pkgs)}, {"a"}))), std::vector<std::string>{"a-1-0"});
  // With something that needs c, a's constraint picks the older c.
  EXPECT_EQ(dists(solve(input({channel("ch", pkgs)}, {"a", "d"}))),
            (std::vector<std::string>{"a-1-0", "c-1-0", "d-1-0"}));
  // Asking for c 2 explicitly conflicts with a's constraint.
  auto o = solve(input({channel("ch", pkgs)}, {"a", "c >=2"}));
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << explanation(o);
  EXPECT_NE(explanation(o).find("constrains c <2"), std::string::npos) << explanation(o);
}

TEST(Solver, OneVersionPerName) {
  auto o = solve(input({channel("c", {{"a", "1", "0", {"c 1.*"}},
                                      {"b", "1", "0", {"c 2.*"}},
                                      {"c", "1.0", "0"},
                                      {"c", "2.0", "0"}})},
                       {"a", "b"}));
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << explanation(o);
  const auto& u = std::get<Unsolvable>(o);
  EXPECT_EQ(u.conflicting_specs, (std::vector<std::string>{"a", "b"}));
  // Conda terms, the dependency chain, no engine internals.
  EXPECT_NE(u.explanation.find("a 1 0 requires c 1.*"), std::string::npos) << u.explanation;
  EXPECT_NE(u.explanation.find("b 1 0 requires c 2.*"), std::string::npos) << u.explanation;
  EXPECT_NE(u.explanation.find("chain: a -> a 1 0 -> c 1.* -> c 1.0 0"), std::string::npos)
      << u.explanation;
  EXPECT_EQ(u.explanation.find("conda:"), std::string::npos) << u.explanation;
}

TEST(Solver, BacktracksToOlderVersionOfRequested) {
  // The newest a needs a missing dependency; an older a works.
  auto o = solve(
      input({channel("c", {{"a", "2", "0", {"missing"}}, {"a", "1", "0", {"b"}}, {"b", "1", "0"}})},
            {"a"}));
  EXPECT_EQ(dists(o), (std::vector<std::string>{"b-1-0", "a-1-0"}));
}

TEST(Solver, NothingProvidesNamesVersions) {
  auto o =
      solve(input({channel("c", {{"a", "0.1.0", "bld"}, {"a", "0.2.0", "bld"}})}, {"a=0.4.0"}));
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << explanation(o);
  EXPECT_NE(explanation(o).find("a=0.4.0"), std::string::npos) << explanation(o);
  EXPECT_NE(explanation(o).find("available versions: 0.1.0, 0.2.0"), std::string::npos)
      << explanation(o);
  o = solve(input({channel("c", {{"a", "1", "0", {"ghost >=2"}}, {"ghost", "1", "0"}})}, {"a"}));
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << explanation(o);
  EXPECT_NE(explanation(o).find("a 1 0 requires ghost >=2, but no package matches it "
                                "(available versions: 1)"),
            std::string::npos)
      << explanation(o);
  o = solve(input({channel("c", {{"a", "1", "0"}})}, {"nosuch"}));
  EXPECT_NE(explanation(o).find("no package of that name exists"), std::string::npos)
      << explanation(o);
}

TEST(Solver, InvalidSpecIsAnError) {
  auto r = make_libsolv_solver()->solve(input({channel("c", {{"a", "1", "0"}})}, {"a >=<1"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
}

TEST(Solver, ChannelPriority) {
  std::vector<Pkg> high = {{"a", "1", "0"}, {"b", "1", "0"}};
  std::vector<Pkg> low = {{"a", "2", "0"}, {"c", "1", "0", {"a >=2"}}};
  // Strict: a comes only from `high`, even though `low` has a newer one.
  auto in = input({channel("high", high), channel("low", low)}, {"a"});
  auto o = solve(in);
  ASSERT_EQ(dists(o), std::vector<std::string>{"a-1-0"});
  EXPECT_EQ(std::get<Solution>(o).packages[0].channel, "high");
  // ... so c (only in low) cannot be satisfied.
  in.specs = {"c"};
  EXPECT_TRUE(std::holds_alternative<Unsolvable>(solve(in))) << explanation(solve(in));
  // The explanation says that the version exists, and why it is not used.
  EXPECT_NE(explanation(solve(in))
                .find("c 1 0 (low) requires a >=2, but no package matches it (available versions in "
                      "high: 1; low has 2 too, not considered under strict channel priority "
                      "because high has a (use --channel-priority flexible, or ask for low::a))"),
            std::string::npos)
      << explanation(solve(in));
  in.specs = {"a >=2"};
  EXPECT_NE(explanation(solve(in)).find("nothing provides the requested a >=2 (available versions "
                                        "in high: 1; low has 2 too"),
            std::string::npos)
      << explanation(solve(in));
  // Unless the spec names the channel.
  in.specs = {"low::a"};
  EXPECT_EQ(std::get<Solution>(solve(in)).packages[0].channel, "low");
  // Flexible: the higher channel is preferred but a lower one may fill in.
  in.channel_priority = ChannelPriority::Flexible;
  in.specs = {"a"};
  EXPECT_EQ(std::get<Solution>(solve(in)).packages[0].channel, "high");
  in.specs = {"c"};
  EXPECT_EQ(dists(solve(in)), (std::vector<std::string>{"a-2-0", "c-1-0"}));
  // Disabled: the newest version wins wherever it is.
  in.channel_priority = ChannelPriority::Disabled;
  in.specs = {"a"};
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-2-0"});
}

TEST(Solver, TrackFeaturesDeprioritised) {
  Pkg featured{"a", "2", "mkl"};
  featured.track_features = "mkl";
  auto o = solve(input({channel("c", {featured, {"a", "1", "plain"}})}, {"a"}));
  EXPECT_EQ(dists(o), std::vector<std::string>{"a-1-plain"});
  // ... but still chosen when it is the only way.
  o = solve(input({channel("c", {featured, {"a", "1", "plain"}})}, {"a >=2"}));
  EXPECT_EQ(dists(o), std::vector<std::string>{"a-2-mkl"});
}

TEST(Solver, NoarchAndArchComparedFairly) {
  Pkg noarch_new{"a", "2", "pyh_0"};
  noarch_new.subdir = "noarch";
  auto o = solve(input({channel("c", {noarch_new, {"a", "1", "h_0"}})}, {"a"}));
  EXPECT_EQ(dists(o), std::vector<std::string>{"a-2-pyh_0"});
  EXPECT_EQ(std::get<Solution>(o).packages[0].subdir, "noarch");
  Pkg noarch_old{"a", "1", "pyh_0"};
  noarch_old.subdir = "noarch";
  o = solve(input({channel("c", {noarch_old, {"a", "2", "h_0"}})}, {"a"}));
  EXPECT_EQ(dists(o), std::vector<std::string>{"a-2-h_0"});
}

TEST(Solver, VirtualPackages) {
  std::vector<Pkg> pkgs = {{"a", "2", "cuda", {"__cuda >=12"}},
                           {"a", "1", "cpu", {"__glibc >=2.17", "__unix"}}};
  // No __cuda by default: the cpu build, virtual packages not in the result.
  auto in = input({channel("c", pkgs)}, {"a"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-1-cpu"});
  in.virtual_packages = *virtual_packages("linux-64", {.cuda = "12.2"});
  EXPECT_EQ(dists(solve(in)), std::vector<std::string>{"a-2-cuda"});
  in.virtual_packages = *virtual_packages("linux-64", {.glibc = "2.12"});
  auto o = solve(in);
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << explanation(o);
  EXPECT_NE(explanation(o).find("__glibc"), std::string::npos) << explanation(o);
  // A virtual package is also constrained by `constrains`.
  in =
      input({channel("c", {{"b", "1", "0", {}, {"__glibc >=2.40"}}, {"d", "1", "0", {"__glibc"}}})},
            {"b", "d"});
  EXPECT_TRUE(std::holds_alternative<Unsolvable>(solve(in))) << explanation(solve(in));
}

TEST(Solver, PinsRestrictOnlyWhatIsPulledIn) {
  std::vector<Pkg> pkgs = {
      {"a", "1", "0", {"c"}}, {"c", "1", "0"}, {"c", "2", "0"}, {"x", "1", "0"}};
  auto in = input({channel("ch", pkgs)}, {"a"});
  in.pins = {"c 1.*", "x 9"};
  EXPECT_EQ(dists(solve(in)), (std::vector<std::string>{"c-1-0", "a-1-0"}));
}

TEST(Solver, DependencyCycleStillOrdered) {
  auto o = solve(input({channel("c", {{"python", "3", "0", {"pip"}},
                                      {"pip", "1", "0", {"python"}},
                                      {"lib", "1", "0"},
                                      {"app", "1", "0", {"python", "lib"}}})},
                       {"app"}));
  EXPECT_EQ(dists(o), (std::vector<std::string>{"lib-1-0", "python-3-0", "app-1-0", "pip-1-0"}));
}

// A sudoku as packages (as in mamba's test data, with standard boxes): cell_X_Y version D depends
// on every peer cell (same row, column, box) having a version != D; the clues are requested.
// The solution must be the puzzle's (unique) valid grid.
TEST(Solver, SudokuFromGeneratedPackages) {
  std::vector<Pkg> pkgs;
  for (int x = 0; x < 9; ++x)
    for (int y = 0; y < 9; ++y)
      for (int d = 1; d <= 9; ++d) {
        Pkg p{fmt::format("cell_{}_{}", x, y), std::to_string(d), "0"};
        for (int i = 0; i < 9; ++i)
          for (int j = 0; j < 9; ++j) {
            bool peer = (i == x || j == y || (i / 3 == x / 3 && j / 3 == y / 3));
            if (peer && !(i == x && j == y))
              p.depends.push_back(fmt::format("cell_{}_{} !={}", i, j, d));
          }
        pkgs.push_back(std::move(p));
      }
  // A classic puzzle (rows top to bottom, 0 = empty); x is the column, y the row.
  const char* puzzle =
      "530070000600195000098000060800060003400803001700020006060000280000419005000080079";
  std::vector<std::string> clues;
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 9; ++x)
      if (char c = puzzle[y * 9 + x]; c != '0')
        clues.push_back(fmt::format("cell_{}_{} =={}", x, y, c));
  auto o = solve(input({channel("sudoku", pkgs)}, clues));
  ASSERT_TRUE(std::holds_alternative<Solution>(o)) << explanation(o);
  int grid[9][9] = {};
  for (const auto& r : std::get<Solution>(o).packages) {
    int x = r.name[5] - '0', y = r.name[7] - '0';
    ASSERT_EQ(grid[x][y], 0) << "two digits for " << r.name;
    grid[x][y] = std::stoi(r.version);
  }
  std::set<int> digits = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int i = 0; i < 9; ++i) {
    std::set<int> row, col, box;
    for (int j = 0; j < 9; ++j) {
      row.insert(grid[j][i]);
      col.insert(grid[i][j]);
      box.insert(grid[(i % 3) * 3 + j % 3][(i / 3) * 3 + j / 3]);
    }
    EXPECT_EQ(row, digits) << "row " << i;
    EXPECT_EQ(col, digits) << "column " << i;
    EXPECT_EQ(box, digits) << "box " << i;
  }
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 9; ++x)
      if (char c = puzzle[y * 9 + x]; c != '0') {
        EXPECT_EQ(grid[x][y], c - '0');
      }
  // A contradictory clue makes it unsatisfiable, naming the clues.
  clues.push_back("cell_2_0 ==5");  // 5 is already in row 0
  o = solve(input({channel("sudoku", pkgs)}, clues));
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o));
  EXPECT_NE(explanation(o).find("cell_2_0 ==5"), std::string::npos) << explanation(o);
}

TEST(SolverInternals, SpecPackageName) {
  EXPECT_EQ(detail::spec_package_name("numpy >=1"), "numpy");
  EXPECT_EQ(detail::spec_package_name("conda-forge/linux-64::numpy[version='>=1']"), "numpy");
  EXPECT_EQ(detail::spec_package_name("python=3.11"), "python");
  EXPECT_EQ(detail::spec_package_name("  scipy>=1"), "scipy");
  EXPECT_EQ(detail::spec_package_name("https://x/a-1-0.conda"), "");
}

TEST(ChannelPriorityText, RoundTrips) {
  for (auto p : {ChannelPriority::Strict, ChannelPriority::Flexible, ChannelPriority::Disabled})
    EXPECT_EQ(*parse_channel_priority(to_string(p)), p);
  EXPECT_FALSE(parse_channel_priority("loose"));
}

}  // namespace
}  // namespace de::conda
