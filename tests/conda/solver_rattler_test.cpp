// Differential tests of the solver against rattler (conda/rattler compiled to wasm, npm
// @conda-org/rattler, driven by tests/conda/rattler/rattler_solve.mjs, which serves the channels
// on loopback because rattler's simpleSolve only fetches over HTTP).
//
// Runs only where `node` and tests/conda/rattler/node_modules are present (`npm ci` there).
//
// RandomRepositories: hundreds of small random channels (seed printed, fresh per run unless
// DE_SEED is set; DE_SOLVER_REPOS sets how many) with random requests. For each request:
//   * both engines agree on satisfiable vs unsatisfiable;
//   * our solution passes the independent validator (solution_validator.hpp): every depends and
//     constrains holds, one record per name, the requested specs hold, nothing unneeded, every
//     record is one of the channel's;
//   * the versions we chose for the requested packages are not older than rattler's (for a
//     request of several packages: rattler's choice must not be newer for one without being
//     older for another, since two engines may trade one requested package against another).
// Every disagreement is printed with the seed, the request and the channel, so it can be replayed.
//
// NumpySubset: on the real conda-forge numpy subset (../shared/testdata) both engines give the same
// package set for a list of requests.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "conda/solution_validator.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/repodata.hpp"
#include "docker_envs/conda/solver.hpp"
#include "docker_envs/conda/version.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path harness_dir() { return fs::path(DE_SOURCE_DIR) / "tests/conda/rattler"; }

#define DE_REQUIRE_RATTLER_SOLVER()                                                              \
  do {                                                                                           \
    if (::de::test::run_command("command -v node >/dev/null").status != 0)                       \
      GTEST_SKIP() << "node is not installed; rattler comparison skipped";                       \
    if (!fs::exists(harness_dir() / "node_modules/@conda-org/rattler/package.json"))             \
      GTEST_SKIP() << "rattler is not installed; run `npm ci` in tests/conda/rattler to enable " \
                      "the rattler comparison";                                                  \
  } while (0)

std::uint64_t seed_for_run() {
  if (const char* s = std::getenv("DE_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  return std::random_device{}() ^ (std::uint64_t(std::random_device{}()) << 32);
}

int env_int(const char* name, int fallback) {
  const char* s = std::getenv(name);
  return s && *s ? std::atoi(s) : fallback;
}

// One request to both engines.
struct Request {
  std::vector<std::string> channels;  // directories below the root, also the display names
  std::vector<std::string> specs;
};

// Rattler's answer.
struct RattlerAnswer {
  bool ok = false;
  bool crashed = false;  // rattler's process died on this request: no verdict
  std::string error;
  std::map<std::string, json> packages;  // name -> {version, build, build_number, subdir, ...}
};

// Runs rattler_solve.mjs over all requests at once (one node process; loading the wasm module
// takes a while).
// Runs rattler_solve.mjs over the requests (one node process per batch of 150; loading the wasm
// module takes a while). rattler's wasm build sometimes panics ("capacity overflow") and takes
// the process down: the request it was on is marked `crashed` and the rest continue in a fresh
// process. If the harness answers nothing at all, that is a failure.
std::vector<RattlerAnswer> rattler_solve(const fs::path& root,
                                         const std::vector<Request>& requests) {
  constexpr std::size_t kBatch = 150;
  std::vector<RattlerAnswer> answers;
  fs::path input = root / "requests.jsonl";
  while (answers.size() < requests.size()) {
    std::size_t begin = answers.size(), end = std::min(requests.size(), begin + kBatch);
    {
      std::ofstream out(input);
      for (std::size_t i = begin; i < end; ++i)
        out << json{{"channels", requests[i].channels},
                    {"specs", requests[i].specs},
                    {"platform", "linux-64"}}
                   .dump()
            << "\n";
    }
    auto result =
        ::de::test::run_command("cd '" + harness_dir().string() + "' && node rattler_solve.mjs '" +
                                root.string() + "' < '" + input.string() + "'");
    std::istringstream lines(result.out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      json j = json::parse(line);
      RattlerAnswer a;
      a.ok = j.at("ok").get<bool>();
      if (a.ok) {
        for (const json& p : j.at("packages")) a.packages[p.at("name").get<std::string>()] = p;
      } else {
        a.error = j.at("error").get<std::string>();
      }
      answers.push_back(std::move(a));
    }
    if (result.status != 0 && answers.size() < end) {
      if (answers.size() == 0) {
        ADD_FAILURE() << "rattler_solve.mjs failed before answering anything:\n" << result.err;
        return answers;
      }
      RattlerAnswer crashed;
      crashed.crashed = true;
      crashed.error = result.err.substr(0, result.err.find('\n', 200));
      std::printf("note: rattler crashed on request %zu: %s\n", answers.size(),
                  crashed.error.substr(0, result.err.find('\n')).c_str());
      answers.push_back(std::move(crashed));
    } else if (answers.size() < end) {
      ADD_FAILURE() << "rattler_solve.mjs answered " << answers.size() - begin << " of "
                    << end - begin << " requests; stderr:\n"
                    << result.err;
      return answers;
    }
  }
  return answers;
}

// Rattler reports "Cannot solve the request because of: ..." for an unsatisfiable request; any
// other error means the harness failed (a bad spec, a fetch error) and is not a verdict.
bool is_unsat_error(const std::string& error) {
  return error.find("Cannot solve") != std::string::npos;
}

// Reads a channel directory (linux-64 + noarch) as the solver's input.
ChannelRepodata load_channel(const fs::path& dir, const std::string& name) {
  ChannelRepodata channel{.channel = name, .subdirs = {}};
  for (const char* subdir : {"linux-64", "noarch"}) {
    fs::path file = dir / subdir / "repodata.json";
    if (!fs::exists(file)) continue;
    auto repodata =
        Repodata::load(file, {.channel = name, .subdir_url = "file://" + (dir / subdir).string()});
    EXPECT_TRUE(repodata.has_value()) << file << ": " << repodata.error().message();
    if (!repodata) continue;
    EXPECT_EQ(repodata->skipped, 0u) << file << ": records skipped";
    channel.subdirs.push_back(std::move(*repodata));
  }
  return channel;
}

std::vector<PackageRecord> all_records(const ChannelRepodata& channel) {
  std::vector<PackageRecord> out;
  for (const Repodata& r : channel.subdirs)
    out.insert(out.end(), r.records.begin(), r.records.end());
  return out;
}

std::string show_solution(const std::vector<PackageRecord>& packages) {
  std::string out;
  for (const PackageRecord& p : packages)
    out += "  " + p.name + " " + p.version + " " + p.build + "\n";
  return out;
}

std::string show_rattler(const RattlerAnswer& a) {
  if (!a.ok) return "  (unsatisfiable) " + a.error.substr(0, 400) + "\n";
  std::string out;
  for (const auto& [name, p] : a.packages)
    out += "  " + name + " " + p.at("version").get<std::string>() + " " +
           p.at("build").get<std::string>() + "\n";
  return out;
}

// Compares one request's outcomes (ours computed here, rattler's given) and keeps counts.
class Comparison {
 public:
  void check(const fs::path& root, const Request& req, const RattlerAnswer& theirs,
             const std::string& context) {
    if (theirs.crashed) {
      ++crashed_;
      std::printf("note: rattler crashed on %s\n", context.c_str());
      return;
    }
    if (!theirs.ok) {
      ASSERT_TRUE(is_unsat_error(theirs.error)) << context << "rattler failed: " << theirs.error;
    }
    std::vector<ChannelRepodata> channels;
    std::vector<PackageRecord> available;
    for (const std::string& name : req.channels) {
      if (!loaded_.count(name)) loaded_.emplace(name, load_channel(root / name, name));
      channels.push_back(loaded_.at(name));
      auto records = all_records(loaded_.at(name));
      available.insert(available.end(), records.begin(), records.end());
    }

    // One channel per request: rattler applies strict priority per match spec (candidates
    // come from the first channel with a *matching* record), conda per package name (the first
    // channel that has the name at all), so several channels would not compare.
    auto outcome =
        solver_->solve({.channels = channels, .virtual_packages = {}, .specs = req.specs});
    ASSERT_TRUE(outcome.has_value()) << context << outcome.error().message();
    const Solution* ours = std::get_if<Solution>(&*outcome);
    if (!ours) {
      ++unsat_;
      EXPECT_FALSE(theirs.ok) << context << "we found it unsatisfiable:\n"
                              << std::get<Unsolvable>(*outcome).explanation
                              << "\nrattler solved it:\n"
                              << show_rattler(theirs);
      return;
    }
    ++sat_;
    if (!theirs.ok && rattler_starts_with_tail(theirs.error, available)) {
      // A known difference in version matching, not in solving (rattler_test.cpp's
      // "starts-with-tail" class): conda's `1.0.2.*` matches 1.0.2l, rattler's does not. Our
      // solution still has to pass the validator below.
      ++known_;
    } else {
      EXPECT_TRUE(theirs.ok) << context << "we solved it:\n"
                             << show_solution(ours->packages) << "rattler did not:\n"
                             << show_rattler(theirs);
    }

    auto problems =
        test::validate_solution(ours->packages, {.specs = req.specs, .available = &available});
    EXPECT_TRUE(problems.empty()) << context << "our solution:\n"
                                  << show_solution(ours->packages) << "is invalid:\n  " << [&] {
                                       std::string s;
                                       for (auto& p : problems) s += p + "\n  ";
                                       return s;
                                     }();
    if (!theirs.ok) return;

    // Rattler's answer through the same validator: a check of the harness and of our reading of
    // match specs (reported, not failed: a rattler bug is not ours).
    std::vector<PackageRecord> theirs_records;
    for (const auto& [name, p] : theirs.packages) {
      for (const PackageRecord& r : available)
        if (r.name == name && r.version == p.at("version").get<std::string>() &&
            r.build == p.at("build").get<std::string>() &&
            r.subdir == p.at("subdir").get<std::string>() &&
            r.channel == p.at("channel").get<std::string>())
          theirs_records.push_back(r);
    }
    if (auto wrong = test::validate_solution(theirs_records, {.specs = req.specs});
        !wrong.empty()) {
      ++rattler_invalid_;
      std::printf("note: rattler's solution fails the validator (%s): %s\n",
                  context.substr(0, context.find(':')).c_str(), wrong.front().c_str());
    }

    std::set<std::string> our_set, their_set;
    for (const PackageRecord& p : ours->packages)
      our_set.insert(p.name + " " + p.version + " " + p.build);
    for (const auto& [name, p] : theirs.packages)
      their_set.insert(name + " " + p.at("version").get<std::string>() + " " +
                       p.at("build").get<std::string>());
    if (our_set == their_set) ++identical_;

    // Requested versions: never older than rattler's (Pareto for several requested packages).
    bool any_older = false, any_newer = false;
    std::string versions;
    for (const std::string& spec : req.specs) {
      auto parsed = MatchSpec::parse(spec);
      ASSERT_TRUE(parsed.has_value()) << spec;
      std::string name = parsed->name().to_string();
      auto it = theirs.packages.find(name);
      auto mine = std::find_if(ours->packages.begin(), ours->packages.end(),
                               [&](const PackageRecord& r) { return r.name == name; });
      if (it == theirs.packages.end() || mine == ours->packages.end()) continue;
      auto a = Version::parse(mine->version);
      auto b = Version::parse(it->second.at("version").get<std::string>());
      ASSERT_TRUE(a && b);
      if (*a < *b) any_older = true;
      if (*a > *b) any_newer = true;
      versions += "  " + name + ": ours " + mine->version + ", rattler " + b->to_string() + "\n";
    }
    if (any_older && any_newer) ++tradeoffs_;
    EXPECT_FALSE(any_older && !any_newer)
        << context << "we chose older versions of what was requested:\n"
        << versions << "ours:\n"
        << show_solution(ours->packages) << "rattler:\n"
        << show_rattler(theirs);
  }

  int compared() const { return sat_ + unsat_ + crashed_; }
  int crashed() const { return crashed_; }

  void print() const {
    std::printf(
        "solver vs rattler: %d satisfiable (%d solutions identical to rattler's; %d unsatisfiable "
        "for rattler only because its `1.2.*` does not match 1.2a, the starts-with-tail class of "
        "rattler_test.cpp), %d unsatisfiable, %d trade-offs between requested packages, %d "
        "rattler solutions failing the validator, %d requests rattler crashed on\n",
        sat_, identical_, known_, unsat_, tradeoffs_, rattler_invalid_, crashed_);
  }

 private:
  std::unique_ptr<Solver> solver_ = make_libsolv_solver();
  std::map<std::string, ChannelRepodata> loaded_;
  int sat_ = 0, unsat_ = 0, rattler_invalid_ = 0, tradeoffs_ = 0, identical_ = 0, known_ = 0,
      crashed_ = 0;

  // Whether rattler's unsatisfiable verdict names a `X 1.2.*` spec "for which no candidates were
  // found" while the channel has an X whose version continues 1.2 with a letter (1.2a, 1.0.1k),
  // which conda's starts-with matches: the starts-with-tail difference.
  static bool rattler_starts_with_tail(const std::string& error,
                                       const std::vector<PackageRecord>& available) {
    static const std::regex missing(
        R"(([A-Za-z0-9_.\-]+) =?=?([0-9][0-9A-Za-z.]*?)\.?\*, for which no candidates)");
    for (std::sregex_iterator it(error.begin(), error.end(), missing), end; it != end; ++it) {
      std::string name = (*it)[1], prefix = (*it)[2];
      for (const PackageRecord& r : available)
        if (r.name == name && r.version.size() > prefix.size() && r.version.starts_with(prefix) &&
            std::isalpha(static_cast<unsigned char>(r.version[prefix.size()])))
          return true;
    }
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// Random channels.

class RepoGenerator {
 public:
  explicit RepoGenerator(std::uint64_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }

  // Versions whose order conda, mamba and rattler agree on (the version-order differences have
  // their own test, rattler_test.cpp).
  const std::vector<std::string>& version_pool() const {
    static const std::vector<std::string> pool = {"0.9", "1.0",   "1.1", "1.2", "1.2.1", "1.10",
                                                  "2.0", "2.0.1", "2.1", "3.0", "3.1",   "10.0"};
    return pool;
  }
  const std::string& any_version() { return version_pool()[pick(int(version_pool().size()))]; }

  std::string version_constraint() {
    const std::string& v = any_version();
    switch (pick(10)) {
      case 0:
        return "";
      case 1:
        return " >=" + v;
      case 2:
        return " <" + v;
      case 3:
        return " " + v.substr(0, v.find('.')) + ".*";
      case 4:
        return " ==" + v;
      case 5: {
        std::string w = any_version();
        return " >=" + std::min(v, w) + ",<" + std::max(v, w);
      }
      case 6:
        return " !=" + v;
      case 7:
        return " " + v + "|" + any_version();
      case 8:
        return " >" + v;
      default:
        return " <=" + v;
    }
  }

  // A channel: `names` packages, each with a few versions and builds.
  json channel(int names) {
    std::vector<std::string> pkgs;
    for (int i = 0; i < names; ++i) pkgs.push_back(std::string(1, char('a' + i)) + "pkg");
    names_ = pkgs;
    json linux64 = {{"info", {{"subdir", "linux-64"}}},
                    {"packages", json::object()},
                    {"packages.conda", json::object()}};
    json noarch = {{"info", {{"subdir", "noarch"}}},
                   {"packages", json::object()},
                   {"packages.conda", json::object()}};
    int serial = 0;
    for (const std::string& name : pkgs) {
      std::set<std::string> versions;
      int nversions = 1 + pick(4);
      for (int i = 0; i < nversions; ++i) versions.insert(any_version());
      for (const std::string& version : versions) {
        int nbuilds = chance(30) ? 2 : 1;
        for (int b = 0; b < nbuilds; ++b) {
          int bn = pick(3);
          std::string build =
              (chance(50) ? "h" + std::to_string(1000 + serial++) : std::string("py")) + "_" +
              std::to_string(bn);
          json rec = {{"name", name}, {"version", version}, {"build", build}, {"build_number", bn}};
          json depends = json::array(), constrains = json::array();
          int ndeps = pick(4);
          for (int d = 0; d < ndeps; ++d) {
            if (chance(3)) {
              depends.push_back("missing" + version_constraint());
              continue;
            }
            const std::string& dep = pkgs[pick(names)];
            if (dep == name) continue;
            std::string spec = dep + version_constraint();
            if (chance(5)) spec = dep + " * h*";  // build-string glob
            depends.push_back(spec);
          }
          if (chance(15)) {
            const std::string& other = pkgs[pick(names)];
            if (other != name) {
              std::string c = version_constraint();
              constrains.push_back(other + (c.empty() ? " <" + any_version() : c));
            }
          }
          rec["depends"] = depends;
          if (!constrains.empty()) rec["constrains"] = constrains;
          if (chance(4)) rec["track_features"] = "feat";
          bool is_noarch = chance(20);
          rec["subdir"] = is_noarch ? "noarch" : "linux-64";
          if (is_noarch) rec["noarch"] = "generic";
          std::string fn =
              name + "-" + version + "-" + build + (chance(15) ? ".tar.bz2" : ".conda");
          json& target = is_noarch ? noarch : linux64;
          target[fn.ends_with(".conda") ? "packages.conda" : "packages"][fn] = rec;
        }
      }
    }
    return {{"linux-64", linux64}, {"noarch", noarch}};
  }

  std::vector<std::string> request() {
    std::vector<std::string> specs;
    int n = 1 + (chance(40) ? pick(3) : 0);
    std::set<std::string> used;
    for (int i = 0; i < n; ++i) {
      std::string name = names_[pick(int(names_.size()))];
      if (!used.insert(name).second) continue;
      std::string c = chance(60) ? "" : version_constraint();
      specs.push_back(name + c);
    }
    if (chance(3)) specs.push_back("nosuchpkg");
    return specs;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
};

TEST(SolverRattler, RandomRepositories) {
  DE_REQUIRE_RATTLER_SOLVER();
  std::uint64_t seed = seed_for_run();
  int repos = env_int("DE_SOLVER_REPOS", 200);
  std::printf("solver vs rattler: seed %llu (reproduce with DE_SEED=%llu), %d repositories\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), repos);
  RecordProperty("seed", std::to_string(seed));

  auto tmp = TempDir::create({}, "de-solver-rattler-");
  ASSERT_TRUE(tmp.has_value()) << tmp.error().message();
  const fs::path root = tmp->path();

  RepoGenerator gen(seed);
  std::vector<Request> requests;
  std::map<std::string, std::string> channel_text;  // channel -> its JSON, for failure messages
  for (int i = 0; i < repos; ++i) {
    std::string name = "r" + std::to_string(i);
    json ch = gen.channel(gen.chance(20) ? 10 + gen.pick(11) : 3 + gen.pick(6));
    for (const char* subdir : {"linux-64", "noarch"}) {
      fs::create_directories(root / name / subdir);
      ASSERT_TRUE(
          write_file_atomic(root / name / subdir / "repodata.json", ch[subdir].dump()).has_value());
    }
    channel_text[name] = ch.dump();
    for (int k = 0; k < 2; ++k) requests.push_back({{name}, gen.request()});
  }

  ASSERT_FALSE(requests.empty());
  std::vector<RattlerAnswer> rattler = rattler_solve(root, requests);
  ASSERT_EQ(rattler.size(), requests.size());

  Comparison cmp;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string context = "seed " + std::to_string(seed) + ", request " + std::to_string(i) + " [";
    for (const std::string& s : requests[i].specs) context += "'" + s + "' ";
    context += "] on channels";
    for (const std::string& c : requests[i].channels)
      context += " " + c + ": " + channel_text[c] + "\n";
    cmp.check(root, requests[i], rattler[i], context);
  }
  cmp.print();
  EXPECT_EQ(cmp.compared(), int(requests.size()));
  EXPECT_LE(cmp.crashed() * 20, int(requests.size()))
      << "rattler crashed on more than 5% of requests";
}

// ---------------------------------------------------------------------------------------------
// The real conda-forge subset.

TEST(SolverRattler, NumpySubsetSolutionsAreIdentical) {
  DE_REQUIRE_TESTDATA();
  DE_REQUIRE_RATTLER_SOLVER();
  fs::path source =
      ::de::test::testdata_dir() / "conda-solver/repodata/mamba/conda-forge-numpy-linux-64.json";
  ASSERT_TRUE(fs::exists(source)) << source;
  auto tmp = TempDir::create({}, "de-solver-rattler-");
  ASSERT_TRUE(tmp.has_value()) << tmp.error().message();
  const fs::path root = tmp->path();

  // rattler rejects `null` in depends/constrains ("failed to extract repodata records"), which
  // conda-forge's older repodata has: serve it a copy with nulls made empty lists or dropped.
  auto text = read_file(source);
  ASSERT_TRUE(text.has_value());
  json doc = json::parse(*text);
  for (const char* key : {"packages", "packages.conda"}) {
    for (auto& [fn, rec] : doc[key].items()) {
      for (const char* list : {"depends", "constrains"})
        if (rec.contains(list) && rec[list].is_null()) rec[list] = json::array();
      for (auto it = rec.begin(); it != rec.end();)
        it = it.value().is_null() ? rec.erase(it) : std::next(it);
    }
  }
  fs::create_directories(root / "cf/linux-64");
  fs::create_directories(root / "cf/noarch");
  ASSERT_TRUE(write_file_atomic(root / "cf/linux-64/repodata.json", doc.dump()).has_value());
  ASSERT_TRUE(write_file_atomic(root / "cf/noarch/repodata.json",
                                R"({"info":{"subdir":"noarch"},"packages":{},"packages.conda":{}})")
                  .has_value());

  const std::vector<std::vector<std::string>> cases = {
      {"numpy"},
      {"python"},
      {"numpy", "python 3.12.*"},
      {"numpy >=1.26", "pip"},
      {"pip"},
      {"setuptools", "wheel"},
      {"libopenblas"},
      {"liblapack", "libcblas"},
      {"openssl", "ca-certificates"},
      {"readline"},
      {"tk", "xz", "bzip2"},
      {"libgfortran-ng"},
      {"python_abi"},
      {"_openmp_mutex"},
      {"libsqlite", "ncurses"},
      {"numpy <1.20"},
      {"python 2.7.*"},
      {"numpy", "python 3.11.*"},
      {"nosuchpackage"},
  };
  std::vector<Request> requests;
  for (const auto& specs : cases) requests.push_back({{"cf"}, specs});
  std::vector<RattlerAnswer> rattler = rattler_solve(root, requests);
  ASSERT_EQ(rattler.size(), requests.size());

  ChannelRepodata channel = load_channel(root / "cf", "cf");
  auto solver = make_libsolv_solver();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string what;
    for (const std::string& s : requests[i].specs) what += "'" + s + "' ";
    const RattlerAnswer& theirs = rattler[i];
    if (!theirs.ok) {
      ASSERT_TRUE(is_unsat_error(theirs.error)) << what << "rattler failed: " << theirs.error;
    }
    auto outcome =
        solver->solve({.channels = {channel}, .virtual_packages = {}, .specs = requests[i].specs});
    ASSERT_TRUE(outcome.has_value()) << what << outcome.error().message();
    const Solution* ours = std::get_if<Solution>(&*outcome);
    ASSERT_EQ(ours != nullptr, theirs.ok)
        << what << "\nours:\n"
        << (ours ? show_solution(ours->packages) : std::get<Unsolvable>(*outcome).explanation)
        << "\nrattler:\n"
        << show_rattler(theirs);
    if (!ours) continue;
    std::set<std::string> mine, other;
    for (const PackageRecord& p : ours->packages)
      mine.insert(p.name + " " + p.version + " " + p.build);
    for (const auto& [name, p] : theirs.packages)
      other.insert(name + " " + p.at("version").get<std::string>() + " " +
                   p.at("build").get<std::string>());
    EXPECT_EQ(mine, other) << what << "\nours:\n"
                           << show_solution(ours->packages) << "rattler:\n"
                           << show_rattler(theirs);
    std::vector<PackageRecord> available = all_records(channel);
    auto problems = test::validate_solution(ours->packages,
                                            {.specs = requests[i].specs, .available = &available});
    EXPECT_TRUE(problems.empty()) << what << problems.front();
  }
}

// conda's own test indexes (old defaults channels: features, track_features, legacy flat
// repodata): random single and paired requests of their package names, checked like the random
// channels.
TEST(SolverRattler, CondaTestIndexes) {
  DE_REQUIRE_TESTDATA();
  DE_REQUIRE_RATTLER_SOLVER();
  std::uint64_t seed = seed_for_run();
  int per_index = env_int("DE_SOLVER_INDEX_REQUESTS", 20);
  std::printf("conda test indexes vs rattler: seed %llu (reproduce with DE_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  auto tmp = TempDir::create({}, "de-solver-rattler-");
  ASSERT_TRUE(tmp.has_value()) << tmp.error().message();
  const fs::path root = tmp->path();
  std::mt19937_64 rng(seed);

  std::vector<Request> requests;
  for (const char* index : {"index", "index2", "index4", "index5"}) {
    fs::path source =
        ::de::test::testdata_dir() / "conda-solver/repodata/conda" / (std::string(index) + ".json");
    ASSERT_TRUE(fs::exists(source)) << source;
    auto text = read_file(source);
    ASSERT_TRUE(text.has_value());
    json doc = json::parse(*text);
    // The legacy flat form (file name -> record) as a `packages` map; nulls dropped (rattler
    // rejects them).
    if (!doc.contains("packages"))
      doc = json{{"info", {{"subdir", "linux-64"}}}, {"packages", doc}};
    std::set<std::string> names;
    for (auto& [fn, rec] : doc["packages"].items()) {
      for (auto it = rec.begin(); it != rec.end();)
        it = it.value().is_null() ? rec.erase(it) : std::next(it);
      names.insert(rec.at("name").get<std::string>());
    }
    fs::create_directories(root / index / "linux-64");
    fs::create_directories(root / index / "noarch");
    ASSERT_TRUE(write_file_atomic(root / index / "linux-64/repodata.json", doc.dump()).has_value());
    ASSERT_TRUE(write_file_atomic(root / index / "noarch/repodata.json",
                                  R"({"info":{"subdir":"noarch"},"packages":{}})")
                    .has_value());
    std::vector<std::string> pool(names.begin(), names.end());
    auto any = [&] {
      return pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
    };
    for (int k = 0; k < per_index; ++k) {
      std::vector<std::string> specs = {any()};
      if (k % 4 == 3) {
        std::string second = any();
        if (second != specs[0]) specs.push_back(second);
      }
      requests.push_back({{index}, specs});
    }
  }

  std::vector<RattlerAnswer> rattler = rattler_solve(root, requests);
  ASSERT_EQ(rattler.size(), requests.size());
  Comparison cmp;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string context = "seed " + std::to_string(seed) + ", request [";
    for (const std::string& s : requests[i].specs) context += "'" + s + "' ";
    context += "] on conda's " + requests[i].channels[0] + ".json:\n";
    cmp.check(root, requests[i], rattler[i], context);
  }
  cmp.print();
  EXPECT_EQ(cmp.compared(), int(requests.size()));
  EXPECT_LE(cmp.crashed() * 20, int(requests.size()))
      << "rattler crashed on more than 5% of requests";
}

// A generated conda-forge-like channel (bench/gen_repodata, at a small scale and a fresh seed):
// python_abi build globs, exact-build BLAS pins in constrains, pypy and mkl track_features,
// migrations. Random requests of its package names, and a few of the data-science stack.
TEST(SolverRattler, GeneratedCondaForgeLikeChannel) {
  DE_REQUIRE_RATTLER_SOLVER();
  fs::path gen = ::de::test::cli_path().parent_path() / "bench/gen_repodata";
  if (!fs::exists(gen)) GTEST_SKIP() << gen << " is not built";
  std::uint64_t seed = seed_for_run();
  std::printf("generated channel vs rattler: seed %llu (reproduce with DE_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  auto tmp = TempDir::create({}, "de-solver-rattler-");
  ASSERT_TRUE(tmp.has_value()) << tmp.error().message();
  const fs::path root = tmp->path();
  auto made = ::de::test::run_command("'" + gen.string() + "' --scale 0.02 --seed " +
                                      std::to_string(seed % 1000000) + " '" +
                                      (root / "gen").string() + "'");
  ASSERT_EQ(made.status, 0) << made.out << made.err;

  std::set<std::string> names;
  for (const char* subdir : {"linux-64", "noarch"}) {
    auto text = read_file(root / "gen" / subdir / "repodata.json", 256 << 20);
    ASSERT_TRUE(text.has_value()) << text.error().message();
    json doc = json::parse(*text);
    for (const char* key : {"packages", "packages.conda"})
      for (const auto& [fn, rec] : doc[key].items())
        names.insert(rec.at("name").get<std::string>());
  }
  std::vector<std::string> pool(names.begin(), names.end());
  std::mt19937_64 rng(seed);
  auto any = [&] {
    return pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
  };
  std::vector<Request> requests;
  for (int k = 0; k < 30; ++k) requests.push_back({{"gen"}, {any()}});
  for (int k = 0; k < 6; ++k) requests.push_back({{"gen"}, {any(), any()}});
  for (auto& r : requests)
    if (r.specs.size() == 2 && r.specs[0] == r.specs[1]) r.specs.pop_back();
  requests.push_back({{"gen"}, {"python 3.10.*", "numpy", "scipy", "pandas"}});
  requests.push_back({{"gen"}, {"libblas * *mkl", "numpy"}});
  requests.push_back({{"gen"}, {"python * *pypy", "numpy"}});
  requests.push_back({{"gen"}, {"matplotlib", "scikit-learn", "ipykernel"}});

  std::vector<RattlerAnswer> rattler = rattler_solve(root, requests);
  ASSERT_EQ(rattler.size(), requests.size());
  Comparison cmp;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::string context = "seed " + std::to_string(seed) + ", request [";
    for (const std::string& s : requests[i].specs) context += "'" + s + "' ";
    context += "] on the channel `gen_repodata --scale 0.02 --seed " +
               std::to_string(seed % 1000000) + "` wrote:\n";
    cmp.check(root, requests[i], rattler[i], context);
  }
  cmp.print();
  EXPECT_EQ(cmp.compared(), int(requests.size()));
  EXPECT_LE(cmp.crashed() * 20, int(requests.size()))
      << "rattler crashed on more than 5% of requests";
}

}  // namespace
}  // namespace de::conda
