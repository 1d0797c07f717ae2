// The solver against ../shared/testdata/conda-solver/solver_expectations.json: expectations
// restated from conda's, mamba's and rattler's own test suites, and the sudoku encoded as packages.
//
// Every case whose repodata is available runs. A case we do not pass is listed in
// known_differences() with the reason; the test fails when any other case fails, and reports a
// listed case that starts passing (so the list stays honest). Cases that need what a fresh-
// environment solver does not model (an installed prefix with history, removals, conda's legacy
// `features`) are listed with that reason rather than skipped silently.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/conda/virtual_packages.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path solver_dir() { return test::testdata_dir() / "conda-solver"; }

// Cases (suite/test/step) we knowingly do not pass, with the reason.
const std::map<std::string, std::string>& known_differences() {
  static const std::map<std::string, std::string> known = {
#include "solver_expectations_known.inc"
  };
  return known;
}

// A channel from a flat index file (conda's tests) or a repodata.json, loaded once.
Repodata load_repodata(const fs::path& file, const std::string& channel,
                       const std::string& subdir_url) {
  auto r = Repodata::load(file, {.channel = channel, .subdir_url = subdir_url});
  EXPECT_TRUE(r) << r.error().to_string();
  for (auto& rec : r->records)
    if (rec.subdir.empty()) rec.subdir = "linux-64";
  return std::move(*r);
}

Repodata from_records(const json& records, const std::string& channel,
                      const Repodata* base = nullptr) {
  Repodata out;
  if (base) out = *base;
  out.base_url = "https://example.org/" + channel + "/linux-64";
  for (const auto& j : records) {
    if (!j.is_object()) continue;  // "<bad_rec>" placeholders
    PackageRecord r;
    r.name = j.at("name");
    r.version = j.value("version", "1.0");
    r.build = j.value("build", "0");
    r.build_number = j.value("build_number", 0);
    if (j.contains("depends")) r.depends = j["depends"].get<std::vector<std::string>>();
    if (j.contains("constrains")) r.constrains = j["constrains"].get<std::vector<std::string>>();
    r.track_features = j.value("track_features", "");
    r.subdir = j.value("subdir", "linux-64");
    r.timestamp = j.value("timestamp", 0);
    r.fn = j.value("fn", r.dist_name() + ".conda");
    r.channel = channel;
    out.records.push_back(std::move(r));
  }
  return out;
}

void add_pip_to_python(Repodata& r) {
  for (auto& rec : r.records)
    if (rec.name == "python" && (rec.version.starts_with("2.") || rec.version.starts_with("3.")))
      rec.depends.push_back("pip");
}

std::string dist(const PackageRecord& r) { return r.name + "-" + r.version + "-" + r.build; }

struct Runner {
  std::vector<std::string> failures;  // "key: what went wrong"
  std::set<std::string> ran;
  int passed = 0;
  // Cases outside a fresh-environment solver (installed prefixes, removals, fixtures that are not
  // restated): each is printed with its reason, never dropped silently.
  std::vector<std::string> not_applicable;

  void outside_scope(const std::string& key, const std::string& reason) {
    not_applicable.push_back(key + ": " + reason);
  }

  void result(const std::string& key, std::string error) {
    ran.insert(key);
    if (error.empty())
      ++passed;
    else
      failures.push_back(key + ": " + error);
  }
};

SolveOutcome run_solve(SolveInput in) {
  if (in.virtual_packages.empty()) in.virtual_packages = *virtual_packages("linux-64");
  auto o = make_libsolv_solver()->solve(in);
  if (!o) {
    Unsolvable u;
    u.explanation = "error: " + o.error().to_string();
    return u;
  }
  return std::move(*o);
}

std::string describe(const SolveOutcome& o) {
  if (auto* u = std::get_if<Unsolvable>(&o)) return "unsolvable: " + u->explanation;
  std::vector<std::string> names;
  for (const auto& r : std::get<Solution>(o).packages) names.push_back(r.channel + "::" + dist(r));
  return "solution: " + fmt::format("{}", fmt::join(names, " "));
}

// "channel-1 (tests/data/index.json)" -> "channel-1".
std::string channel_key(const std::string& text) { return text.substr(0, text.find(' ')); }

// "<MatchSpec(track_features='mkl')>" -> "*[track_features=mkl]".
std::string spec_text(const std::string& s) {
  if (s.starts_with("<MatchSpec(") && s.ends_with(")>")) {
    std::string inner = s.substr(11, s.size() - 13);
    std::erase(inner, '\'');
    return "*[" + inner + "]";
  }
  return s;
}

class Expectations : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::testdata_dir().empty()) GTEST_SKIP() << "../shared/testdata is absent";
    doc_ = json::parse(*read_file(solver_dir() / "solver_expectations.json", 1 << 24));
  }
  json doc_;
};

TEST_F(Expectations, AllSuites) {
  Runner run;
  const json& suites = doc_["suites"];

  // conda.tests.core.test_solve: channels from flat index files.
  {
    const json& suite = suites["conda.tests.core.test_solve"];
    std::map<std::string, Repodata> channels;
    for (const auto& [name, file] : suite["repodata"].items())
      channels[name] = load_repodata(solver_dir() / file.get<std::string>(), name,
                                     "https://conda.anaconda.org/" + name + "/linux-64");
    for (const auto& c : suite["cases"]) {
      for (std::size_t i = 0; i < c["steps"].size(); ++i) {
        const json& step = c["steps"][i];
        std::string key = fmt::format("conda/{}/{}", c["test"].get<std::string>(), i);
        if (!step.contains("expected_final_state")) continue;  // nothing restated to compare
        if (step.contains("prefix_records") || step.contains("specs_to_remove") ||
            !step.contains("specs_to_add")) {
          run.outside_scope(key, "needs an installed prefix (history, removal): fresh solves only");
          continue;
        }
        SolveInput in;
        // conda's default channel priority (these tests run with it) is flexible.
        in.channel_priority = ChannelPriority::Flexible;
        bool missing = false;
        for (const auto& ch : step["channels"]) {
          auto it = channels.find(channel_key(ch));
          if (it == channels.end()) {
            missing = true;
            break;
          }
          in.channels.push_back({.channel = it->first, .subdirs = {it->second}});
        }
        if (missing) {
          run.outside_scope(key,
                            "channel data not in the shared test data (inline in conda's helpers)");
          continue;
        }
        for (const auto& s : step["specs_to_add"]) in.specs.push_back(spec_text(s));
        auto o = run_solve(in);
        std::vector<std::string> got, want;
        if (auto* sol = std::get_if<Solution>(&o))
          for (const auto& r : sol->packages) got.push_back(r.channel + "::" + dist(r));
        for (const auto& e : step["expected_final_state"]) want.push_back(e);
        bool unordered = step.value("expected_final_state_compare", "") == "unordered";
        auto gs = got, ws = want;
        std::sort(gs.begin(), gs.end());
        std::sort(ws.begin(), ws.end());
        if (gs != ws)
          run.result(
              key, "expected " + fmt::format("{}", fmt::join(want, " ")) + "; got " + describe(o));
        else if (!unordered && got != want)
          run.result(key, "same set, different order: expected " +
                              fmt::format("{}", fmt::join(want, " ")) + "; got " +
                              fmt::format("{}", fmt::join(got, " ")));
        else
          run.result(key, "");
      }
    }
  }

  // conda.testing.solver_helpers.SolverTests: channel "test".
  {
    const json& suite = suites["conda.testing.solver_helpers.SolverTests"];
    Repodata index = load_repodata(solver_dir() / "repodata/conda/index.json", "test",
                                   "https://conda.anaconda.org/test/linux-64");
    add_pip_to_python(index);
    for (const auto& c : suite["cases"]) {
      for (std::size_t i = 0; i < c["steps"].size(); ++i) {
        const json& step = c["steps"][i];
        std::string key = fmt::format("SolverTests/{}/{}", c["test"].get<std::string>(), i);
        if (step.contains("installed")) {
          run.outside_scope(key, "needs an installed prefix: fresh solves only");
          continue;
        }
        const json& repo = step["repo"];
        Repodata data;
        if (repo.is_object() && repo.contains("channels")) {
          run.outside_scope(key, "channels defined by a monkeypatched fixture, not restated");
          continue;
        }
        if (repo.is_object() && repo.contains("records"))
          data = from_records(repo["records"], "test");
        else if (repo.is_object() && repo.contains("index"))
          data = repo.contains("plus_records") ? from_records(repo["plus_records"], "test", &index)
                                               : index;
        else if (repo.is_object() && repo.contains("plus_records"))
          data = from_records(repo["plus_records"], "test");
        else
          data = index;  // repo null: the default index
        SolveInput in;
        in.channels.push_back({.channel = "test", .subdirs = {data}});
        for (const auto& s : step["specs"]) in.specs.push_back(spec_text(s));
        auto o = run_solve(in);
        auto* sol = std::get_if<Solution>(&o);
        std::set<std::string> got;
        if (sol)
          for (const auto& r : sol->packages) got.insert("test::" + dist(r));
        std::string error;
        if (step.contains("expected_error")) {
          if (sol)
            error =
                "expected " + step["expected_error"].get<std::string>() + "; got " + describe(o);
          // Every name in conda's expected chains appears in our explanation.
          // (The first and last link: the requested spec and where it conflicts. libsolv's
          // problem rules give one minimal reason, not every path conda lists in between.)
          if (!sol && step.contains("expected_unsat_chains"))
            for (const auto& chain : step["expected_unsat_chains"])
              for (const auto& link : {chain.front(), chain.back()}) {
                std::string name = link.get<std::string>();
                name = name.substr(0, name.find_first_of("=<>[ "));
                if (std::get<Unsolvable>(o).explanation.find(name) == std::string::npos)
                  error = "explanation does not mention " + name + ": " +
                          std::get<Unsolvable>(o).explanation;
              }
        } else if (!sol) {
          error = "expected a solution; got " + describe(o);
        } else {
          if (step.contains("expected_exact")) {
            std::set<std::string> want(step["expected_exact"].begin(),
                                       step["expected_exact"].end());
            if (want != got)
              error =
                  "expected " + fmt::format("{}", fmt::join(want, " ")) + "; got " + describe(o);
          }
          for (const auto& m : step.value("must_include", json::array()))
            if (!got.contains(m.get<std::string>()))
              error = "missing " + m.get<std::string>() + "; got " + describe(o);
          for (const auto& m : step.value("must_exclude", json::array()))
            if (got.contains(m.get<std::string>())) error = "unexpected " + m.get<std::string>();
          if (step.contains("expected_count") &&
              got.size() != step["expected_count"].get<std::size_t>())
            error = fmt::format("expected {} packages; got {}", step["expected_count"].get<int>(),
                                got.size());
          // The noarch/arch preference cases state their expectation as asserts.
          for (const auto& a : step.value("other_asserts", json::array())) {
            std::string text = a;
            auto subdir_of = [&](std::string_view name) -> std::string {
              for (const auto& r : sol->packages)
                if (r.name == name) return r.subdir;
              return "";
            };
            if (text == "records[0].subdir == context.subdir" &&
                subdir_of("package1") != "linux-64")
              error = "package1 should come from linux-64";
            if ((text == "records[0].subdir == 'noarch'" ||
                 text == "package1.subdir == 'noarch'") &&
                subdir_of("package1") != "noarch")
              error = "package1 should come from noarch";
            if (text.starts_with("'test::") && text.ends_with("in package_string_set(records)")) {
              std::string want = text.substr(1, text.find('\'', 1) - 1);
              if (!got.contains(want)) error = "missing " + want + "; got " + describe(o);
            }
            if (text.starts_with("any((k.name == '")) {
              auto n1 = text.find('\'') + 1, n2 = text.find('\'', n1);
              auto v1 = text.find('\'', n2 + 1) + 1, v2 = text.find('\'', v1);
              std::string n = text.substr(n1, n2 - n1), v = text.substr(v1, v2 - v1);
              bool found = false;
              for (const auto& r : sol->packages) found |= r.name == n && r.version == v;
              if (!found) error = "expected " + n + " " + v + "; got " + describe(o);
            }
          }
        }
        run.result(key, error);
      }
    }
  }

  // mamba: libsolv solver tests on the conda-forge numpy subset, problem graphs, the sudoku.
  {
    Repodata numpy =
        load_repodata(solver_dir() / "repodata/mamba/conda-forge-numpy-linux-64.json",
                      "conda-forge", "https://conda.anaconda.org/conda-forge/linux-64");
    for (const auto& c : suites["mamba.libmamba.solver.libsolv"]["cases"]) {
      std::string key = "mamba/" + c["test"].get<std::string>();
      if (c.contains("installed") || c.contains("remove")) {
        run.outside_scope(key, "needs an installed prefix (remove/reinstall): fresh solves only");
        continue;
      }
      SolveInput in;
      in.channels.push_back({.channel = "conda-forge", .subdirs = {numpy}});
      for (const auto& s : c["specs"]) in.specs.push_back(s);
      auto o = run_solve(in);
      auto* sol = std::get_if<Solution>(&o);
      std::string error;
      if (c["expected"] == "unsolvable") {
        if (sol) error = "expected unsolvable; got " + describe(o);
      } else if (!sol) {
        error = "expected a solution; got " + describe(o);
      } else {
        for (const auto& m : c.value("must_include", json::array())) {
          int n = 0;
          for (const auto& r : sol->packages) n += r.name == m.get<std::string>();
          if (n != 1) error = "expected one " + m.get<std::string>();
        }
        if (c.contains("ordering") && sol->packages.back().name != "numpy")
          error = "numpy is not last: " + describe(o);
        if (c.contains("note") &&
            c["note"].get<std::string>().find("linux-64") != std::string::npos)
          for (const auto& r : sol->packages)
            if (r.name == "numpy" && r.url.find("linux-64") == std::string::npos)
              error = "numpy url " + r.url;
      }
      run.result(key, error);
    }
    for (const auto& c : suites["mamba.libmamba.solver.problems_graph"]["cases"]) {
      std::string key = "mamba-problems/" + c["test"].get<std::string>();
      if (c.contains("repodata")) continue;  // the sudoku: its own test below
      SolveInput in;
      in.channels.push_back({.channel = "test", .subdirs = {from_records(c["packages"], "test")}});
      for (const auto& s : c["specs"]) in.specs.push_back(s);
      for (const auto& s : c.value("pins", json::array())) in.pins.push_back(s);
      auto o = run_solve(in);
      bool solved = std::holds_alternative<Solution>(o);
      bool want = c["expected"] == "solution";
      run.result(key, solved == want ? ""
                                     : "expected " + c["expected"].get<std::string>() + "; got " +
                                           describe(o));
    }
  }

  // rattler: the hand-made dummy repository.
  {
    Repodata dummy =
        load_repodata(solver_dir() / "repodata/rattler/dummy-linux-64-repodata.json", "conda-forge",
                      "https://conda.anaconda.org/conda-forge/linux-64");
    for (const auto& c : suites["rattler.rattler_solve.backends"]["cases"]) {
      std::string key = "rattler/" + c["test"].get<std::string>();
      if (c.contains("locked")) {
        run.outside_scope(key, "needs locked (installed) records: fresh solves only");
        continue;
      }
      SolveInput in;
      in.channels.push_back({.channel = "conda-forge", .subdirs = {dummy}});
      for (const auto& s : c["specs"]) in.specs.push_back(s);
      // The test's virtual packages only (none when the case names none).
      in.virtual_packages.clear();
      PackageRecord none;
      none.name = "__none";
      none.version = "0";
      none.build = "0";
      in.virtual_packages.push_back(none);
      for (const auto& v : c.value("virtual_packages", json::array())) {
        std::string t = v;  // "__cuda=1=0"
        PackageRecord r;
        auto a = t.find('='), b = t.rfind('=');
        r.name = t.substr(0, a);
        r.version = t.substr(a + 1, b - a - 1);
        r.build = t.substr(b + 1);
        in.virtual_packages.push_back(r);
      }
      auto o = run_solve(in);
      auto* sol = std::get_if<Solution>(&o);
      std::string error;
      if (c["expected"] == "unsolvable") {
        if (sol) error = "expected unsolvable; got " + describe(o);
      } else if (!sol) {
        error = "expected a solution; got " + describe(o);
      } else {
        std::vector<std::string> fns, name_versions;
        for (const auto& r : sol->packages) {
          fns.push_back(r.fn);
          name_versions.push_back(r.name + " " + r.version);
        }
        if (c.contains("expected_records") &&
            fns != c["expected_records"].get<std::vector<std::string>>())
          error = "got " + fmt::format("{}", fmt::join(fns, " "));
        if (c.contains("expected_name_versions") &&
            name_versions != c["expected_name_versions"].get<std::vector<std::string>>())
          error = "got " + fmt::format("{}", fmt::join(name_versions, " "));
        // get<std::string>(): clang 16 finds no operator!= between std::string and json in C++23.
        auto expected = [&](const char* field) { return c[field].get<std::string>(); };
        if (c.contains("expected_url") && sol->packages[0].url != expected("expected_url"))
          error = "url " + sol->packages[0].url;
        const auto& sha256 = sol->packages[0].sha256;
        if (c.contains("expected_sha256") &&
            (!sha256 || sha256->hex() != expected("expected_sha256")))
          error = "sha256 differs";
        if (c.contains("expected_md5") &&
            (!sol->packages[0].md5 || sol->packages[0].md5->hex() != expected("expected_md5")))
          error = "md5 differs";
      }
      run.result(key, error);
    }
  }

  // Compare with the known list.
  int known = 0;
  std::vector<std::string> unexpected;
  std::set<std::string> failed_keys;
  for (const auto& f : run.failures) {
    std::string key = f.substr(0, f.find(": "));
    failed_keys.insert(key);
    if (known_differences().contains(key))
      ++known;
    else
      unexpected.push_back(f);
  }
  for (const auto& [key, why] : known_differences())
    if (run.ran.contains(key) && !failed_keys.contains(key))
      ADD_FAILURE() << "listed as a known difference but passes now (remove it): " << key;
  for (const auto& n : run.not_applicable) std::cout << "outside a fresh solve: " << n << "\n";
  for (const auto& f : run.failures)
    if (known_differences().contains(f.substr(0, f.find(": "))))
      std::cout << "known difference: " << f.substr(0, f.find(": ")) << " ("
                << known_differences().at(f.substr(0, f.find(": "))) << ")\n";
  std::cout << fmt::format(
      "solver expectations: {} passed, {} known differences, {} outside a fresh solve, {} "
      "unexpected\n",
      run.passed, known, run.not_applicable.size(), unexpected.size());
  for (const auto& u : unexpected) ADD_FAILURE() << u;
}

// mamba's sudoku: 729 packages (cell, digit) whose depends forbid equal digits in a row, column
// or box; the clues are the requested specs. The encoding in sudoku.json constrains some boxes
// unusually (sudoku_0_3's "box" holds sudoku_2_2, for instance), which makes mamba's clues
// contradict each other: mamba's own test asserts this case is UNSOLVABLE, and so do we, naming
// the two clues. (Solver.SudokuFromGeneratedPackages in solver_test.cpp solves a correctly
// encoded sudoku and checks the grid.)
TEST_F(Expectations, Sudoku) {
  const json* sudoku = nullptr;
  for (const auto& c : doc_["suites"]["mamba.libmamba.solver.problems_graph"]["cases"])
    if (c["test"] == "Sudoku") sudoku = &c;
  ASSERT_NE(sudoku, nullptr);
  ASSERT_EQ((*sudoku)["expected"], "unsolvable");
  Repodata data = load_repodata(solver_dir() / "repodata/mamba/sudoku.json", "sudoku",
                                "https://conda.anaconda.org/jjhelmus/label/sudoku/noarch");
  SolveInput in;
  in.channels.push_back({.channel = "sudoku", .subdirs = {data}});
  for (const auto& s : (*sudoku)["specs"]) in.specs.push_back(s);
  auto o = run_solve(in);
  ASSERT_TRUE(std::holds_alternative<Unsolvable>(o)) << describe(o);
  const auto& u = std::get<Unsolvable>(o);
  EXPECT_NE(u.explanation.find("sudoku_0_3 8 0 requires sudoku_2_2 !=8"), std::string::npos)
      << u.explanation;
  EXPECT_NE(u.explanation.find("requested sudoku_2_2 == 8"), std::string::npos) << u.explanation;
}

}  // namespace
}  // namespace de::conda
