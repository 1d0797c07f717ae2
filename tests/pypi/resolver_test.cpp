#include "docker_envs/pypi/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace de::pypi {
namespace {

// An in-memory index: files per project and the metadata of each wheel.
// What one fake wheel declares.
struct Dist {
  std::string tag = "py3-none-any";
  std::vector<std::string> requires_dist;
  std::string requires_python;  // index and metadata
  bool yanked = false;
  std::vector<std::string> extras;
};

class FakeSource final : public DistributionSource {
 public:

  void wheel(const std::string& name, const std::string& version, Dist d = {}) {
    DistributionFile f;
    std::string escaped = name;  // a wheel name spells `-` as `_`
    std::replace(escaped.begin(), escaped.end(), '-', '_');
    f.filename = escaped + "-" + version + "-" + d.tag + ".whl";
    f.url = "https://files.example/" + f.filename;
    f.yanked = d.yanked;
    if (!d.requires_python.empty()) {
      f.requires_python_text = d.requires_python;
      f.requires_python = *SpecifierSet::parse(d.requires_python);
    }
    std::string text = "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n";
    for (const auto& r : d.requires_dist) text += "Requires-Dist: " + r + "\n";
    for (const auto& e : d.extras) text += "Provides-Extra: " + e + "\n";
    if (!d.requires_python.empty()) text += "Requires-Python: " + d.requires_python + "\n";
    metadata_[f.url] = text;
    files_[normalize_name(name)].push_back(std::move(f));
  }
  void sdist(const std::string& name, const std::string& version) {
    DistributionFile f;
    f.filename = name + "-" + version + ".tar.gz";
    f.url = "https://files.example/" + f.filename;
    files_[normalize_name(name)].push_back(std::move(f));
  }

  // The project's page fails as an index answering 500 would.
  void broken(const std::string& name) { broken_.insert(normalize_name(name)); }

  // Called from the resolver's fetch threads: the maps are only read, the counters are atomic.
  Result<std::vector<DistributionFile>> project_files(std::string_view project,
                                                      const Cancellation*) override {
    ++lookups;
    if (broken_.contains(normalize_name(project)))
      return fail(Code::Network, "https://index.example/simple/{}/: HTTP 500",
                  normalize_name(project));
    auto it = files_.find(normalize_name(project));
    return it == files_.end() ? std::vector<DistributionFile>{} : it->second;
  }
  Result<CoreMetadata> file_metadata(const DistributionFile& file, const Cancellation*) override {
    ++metadata_reads;
    auto it = metadata_.find(file.url);
    if (it == metadata_.end()) return fail(Code::NotFound, "no metadata for {}", file.url);
    return CoreMetadata::parse(it->second, file.filename);
  }

  std::atomic<int> lookups = 0;
  std::atomic<int> metadata_reads = 0;

 private:
  std::map<std::string, std::vector<DistributionFile>> files_;
  std::map<std::string, std::string> metadata_;
  std::set<std::string> broken_;
};

Target target() {
  return *Target::for_image(TargetSpec{.platform = "linux-64",
                                       .python_version = "3.11.4",
                                       .python_build = "h_0_cpython",
                                       .glibc = "2.28"});
}

std::vector<Requirement> reqs(std::initializer_list<const char*> texts) {
  std::vector<Requirement> out;
  for (const char* t : texts) out.push_back(*Requirement::parse(t));
  return out;
}

// "name==version[extras]" per distribution, or the explanation prefixed with "UNRESOLVABLE: ",
// or the error prefixed with "ERROR: ", fetching with `threads` threads.
std::string run_with(unsigned threads, FakeSource& source, std::initializer_list<const char*> texts,
                     std::map<std::string, Version> installed = {}, bool pre = false) {
  ResolveRequest request{.requirements = reqs(texts), .installed = std::move(installed),
                         .allow_prereleases = pre, .fetch_threads = threads};
  auto t = target();
  auto outcome = resolve(request, t, source);
  if (!outcome) return "ERROR: " + outcome.error().to_string();
  if (auto* u = std::get_if<Unresolvable>(&*outcome)) return "UNRESOLVABLE: " + u->explanation;
  std::string out;
  for (const auto& d : std::get<Resolution>(*outcome).distributions) {
    if (!out.empty()) out += " ";
    out += normalize_name(d.name) + "==" + d.version.to_string();
    if (!d.extras.empty()) {
      out += "[";
      for (std::size_t i = 0; i < d.extras.size(); ++i) out += (i ? "," : "") + d.extras[i];
      out += "]";
    }
  }
  return out;
}

// As run_with, one request at a time and then in parallel: the outcome, explanations and errors
// included, must not depend on it.
std::string run(FakeSource& source, std::initializer_list<const char*> texts,
                std::map<std::string, Version> installed = {}, bool pre = false) {
  std::string one = run_with(1, source, texts, installed, pre);
  std::string many = run_with(8, source, texts, installed, pre);
  EXPECT_EQ(one, many) << "one request at a time vs 8 at once";
  return many;
}

TEST(PypiResolver, NewestCompatibleVersionsAndDependencies) {
  FakeSource s;
  s.wheel("app", "1.0", {.requires_dist = {"lib>=1.0"}});
  s.wheel("app", "2.0", {.requires_dist = {"lib>=2.0", "win-only; sys_platform == 'win32'"}});
  s.wheel("lib", "1.5");
  s.wheel("lib", "2.1");
  s.wheel("lib", "3.0", {.tag = "cp312-cp312-manylinux_2_17_x86_64"});  // not for 3.11
  s.wheel("lib", "3.1b1");                                               // a pre-release
  EXPECT_EQ(run(s, {"app"}), "app==2.0 lib==2.1");
  EXPECT_EQ(run(s, {"app<2"}), "app==1.0 lib==2.1");
  EXPECT_EQ(run(s, {"app", "lib<2.1"}), "app==1.0 lib==1.5");  // backtracks app
  EXPECT_EQ(run(s, {"app", "lib>=3.1.dev0"}), "app==2.0 lib==3.1b1");
  EXPECT_EQ(run(s, {"app"}, {}, true), "app==2.0 lib==3.1b1");
  EXPECT_EQ(run(s, {"lib; python_version < '3'"}), "");  // the marker excludes it
}

TEST(PypiResolver, MostSpecificWheelOfAVersion) {
  FakeSource s;
  s.wheel("fast", "1.0");
  s.wheel("fast", "1.0", {.tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"});
  s.wheel("fast", "1.0", {.tag = "cp311-cp311-musllinux_1_1_x86_64"});
  s.wheel("fast", "1.0", {.tag = "cp39-abi3-manylinux_2_28_x86_64"});
  ResolveRequest request{.requirements = reqs({"fast"})};
  auto t = target();
  auto outcome = resolve(request, t, s);
  ASSERT_TRUE(outcome);
  const auto& d = std::get<Resolution>(*outcome).distributions;
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].file.filename,
            "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
  EXPECT_TRUE(d[0].requested);
}

TEST(PypiResolver, Extras) {
  FakeSource s;
  s.wheel("req", "2.0", {.requires_dist = {"idna", "socks-lib>=1; extra == 'socks'",
                                           "chardet; extra == 'use_chardet' and python_version < '3'"},
                         .extras = {"socks", "use-chardet"}});
  s.wheel("idna", "3.4");
  s.wheel("socks-lib", "1.7");
  s.wheel("chardet", "5.0");
  EXPECT_EQ(run(s, {"req"}), "idna==3.4 req==2.0");
  EXPECT_EQ(run(s, {"req[socks]"}), "idna==3.4 req==2.0[socks] socks-lib==1.7");
  EXPECT_EQ(run(s, {"req[SOCKS,use_chardet]"}), "idna==3.4 req==2.0[socks,use-chardet] socks-lib==1.7");
  EXPECT_EQ(run(s, {"req", "req[socks]"}), "idna==3.4 req==2.0[socks] socks-lib==1.7");
}

TEST(PypiResolver, RequiresPythonAndYanked) {
  FakeSource s;
  s.wheel("modern", "1.0", {.requires_python = ">=3.8"});
  s.wheel("modern", "2.0", {.requires_python = ">=3.12"});
  s.wheel("pinned", "1.0");
  s.wheel("pinned", "1.1", {.yanked = true});
  EXPECT_EQ(run(s, {"modern"}), "modern==1.0");
  EXPECT_EQ(run(s, {"pinned"}), "pinned==1.0");
  EXPECT_EQ(run(s, {"pinned==1.1"}), "pinned==1.1");
  EXPECT_EQ(run(s, {"pinned===1.1"}), "pinned==1.1");
  EXPECT_EQ(run(s, {"pinned>=1.1"}).rfind("UNRESOLVABLE", 0), 0u);
  std::string why = run(s, {"modern>=2"});
  EXPECT_EQ(why.rfind("UNRESOLVABLE", 0), 0u) << why;
  EXPECT_NE(why.find("requires Python >=3.12"), std::string::npos) << why;
}

TEST(PypiResolver, CondaInstalledDistributionsAreFacts) {
  FakeSource s;
  s.wheel("plot", "1.0", {.requires_dist = {"numpy>=1.20"}});
  s.wheel("plot", "2.0", {.requires_dist = {"numpy>=2"}});
  s.wheel("numpy", "2.1", {.tag = "cp311-cp311-manylinux_2_17_x86_64"});
  std::map<std::string, Version> conda{{"numpy", *Version::parse("1.26.4")}};
  EXPECT_EQ(run(s, {"plot"}, conda), "plot==1.0");  // numpy stays conda's
  EXPECT_EQ(run(s, {"plot"}), "numpy==2.1 plot==2.0");
  std::string why = run(s, {"plot>=2"}, conda);
  EXPECT_EQ(why.rfind("UNRESOLVABLE", 0), 0u) << why;
  EXPECT_NE(why.find("numpy 1.26.4 is installed by the conda packages"), std::string::npos) << why;
  EXPECT_NE(why.find("numpy>=2"), std::string::npos) << why;
}

TEST(PypiResolver, ConflictsAreExplained) {
  FakeSource s;
  s.wheel("a", "1.0", {.requires_dist = {"shared<2"}});
  s.wheel("b", "1.0", {.requires_dist = {"shared>=2"}});
  s.wheel("shared", "1.0");
  s.wheel("shared", "2.0");
  std::string why = run(s, {"a", "b"});
  EXPECT_EQ(why.rfind("UNRESOLVABLE", 0), 0u) << why;
  EXPECT_NE(why.find("shared"), std::string::npos) << why;
  EXPECT_NE(why.find("a 1.0"), std::string::npos) << why;
  EXPECT_NE(why.find("b 1.0"), std::string::npos) << why;
  EXPECT_NE(why.find("shared<2"), std::string::npos) << why;
  EXPECT_NE(why.find("shared>=2"), std::string::npos) << why;

  std::string missing = run(s, {"nothing"});
  EXPECT_NE(missing.find("the indexes have no files for nothing"), std::string::npos) << missing;
}

TEST(PypiResolver, SourceOnlyVersionsAreNamed) {
  FakeSource s;
  s.sdist("legacy", "2.0");
  s.sdist("legacy", "1.5");
  s.wheel("legacy", "1.0");
  s.wheel("legacy", "3.0", {.tag = "cp311-cp311-win_amd64"});
  EXPECT_EQ(run(s, {"legacy"}), "legacy==1.0");
  std::string why = run(s, {"legacy>=1.5"});
  EXPECT_EQ(why.rfind("UNRESOLVABLE", 0), 0u) << why;
  EXPECT_NE(why.find("legacy 2.0, 1.5 only as source distributions"), std::string::npos) << why;
  EXPECT_NE(why.find("versions with a compatible wheel: 1.0"), std::string::npos) << why;
  EXPECT_NE(why.find("cp311-cp311-win_amd64"), std::string::npos) << why;
  FakeSource only;
  only.sdist("src-only", "0.1");
  std::string none = run(only, {"src-only"});
  EXPECT_NE(none.find("src-only 0.1 only as source distributions"), std::string::npos) << none;
  EXPECT_EQ(none.find("versions with a compatible wheel"), std::string::npos) << none;
}

TEST(PypiResolver, MetadataIsReadOnlyForTriedCandidates) {
  FakeSource s;
  for (int i = 0; i < 50; ++i) s.wheel("many", "1." + std::to_string(i));
  EXPECT_EQ(run_with(1, s, {"many"}), "many==1.49");
  EXPECT_EQ(s.metadata_reads, 1);
  s.metadata_reads = 0;
  EXPECT_EQ(run_with(8, s, {"many"}), "many==1.49");  // the prefetch guesses the same one
  EXPECT_EQ(s.metadata_reads, 1);
}

TEST(PypiResolver, DirectUrlWheels) {
  FakeSource s;
  ResolveRequest request{
      .requirements = reqs({"sdistpkg @ https://example.com/sdistpkg-1.0.tar.gz"})};
  auto t = target();
  auto outcome = resolve(request, t, s);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code(), Code::Unsupported);
  EXPECT_NE(outcome.error().to_string().find("source distribution"), std::string::npos);
}

// A graph wide and deep enough for several fetch batches, with guesses the search overrules.
void add_wide_graph(FakeSource& s) {
  for (int i = 0; i < 12; ++i) {
    std::string n = "top" + std::to_string(i);
    s.wheel(n, "1.0", {.requires_dist = {"mid" + std::to_string(i % 4) + ">=1", "base<3"}});
    s.wheel(n, "2.0", {.requires_dist = {"mid" + std::to_string(i % 4) + ">=2", "base"}});
  }
  for (int i = 0; i < 4; ++i) {
    std::string n = "mid" + std::to_string(i);
    s.wheel(n, "1.0", {.requires_dist = {"leaf" + std::to_string(i), "base<3"}});
    s.wheel(n, "2.0", {.requires_dist = {"leaf" + std::to_string(i), "base>=3"}});
    s.wheel("leaf" + std::to_string(i), "0.1", {.extras = {"x"}});
  }
  s.wheel("base", "2.5");
  s.wheel("base", "3.0");
  s.wheel("opt", "1.0", {.requires_dist = {"extra-dep; extra == 'x'"}, .extras = {"x"}});
  s.wheel("extra-dep", "4.0");
}

TEST(PypiResolver, ParallelFetchGivesTheSameOutcome) {
  FakeSource s;
  add_wide_graph(s);
  std::string all = "base==3.0 leaf0==0.1 leaf1==0.1 leaf2==0.1 leaf3==0.1 mid0==2.0 mid1==2.0 "
                    "mid2==2.0 mid3==2.0 top0==2.0 top1==2.0 top10==2.0 top11==2.0 top2==2.0 "
                    "top3==2.0 top4==2.0 top5==2.0 top6==2.0 top7==2.0 top8==2.0 top9==2.0";
  for (int round = 0; round < 20; ++round) {  // timing must not matter
    EXPECT_EQ(run(s, {"top0", "top1", "top2", "top3", "top4", "top5", "top6", "top7", "top8",
                      "top9", "top10", "top11"}),
              all);
    // The guesses (newest first) are wrong here: base<3 makes the search backtrack every top.
    EXPECT_EQ(run(s, {"top0", "top5", "base<3", "opt[x]"}),
              "base==2.5 extra-dep==4.0 leaf0==0.1 leaf1==0.1 mid0==1.0 mid1==1.0 opt==1.0[x] "
              "top0==1.0 top5==1.0");
    EXPECT_EQ(run(s, {"top0", "base>=3", "mid0<2"}).rfind("UNRESOLVABLE", 0), 0u);
  }
}

TEST(PypiResolver, ParallelFetchErrorsAreTheSearchsErrors) {
  FakeSource s;
  add_wide_graph(s);
  s.wheel("top0", "3.0", {.requires_dist = {"broken"}});  // tried first, so the search reads it
  s.broken("broken");
  s.broken("mid3");  // only top3/top7/top11 2.0 need it
  std::string error = run(s, {"top0"});
  EXPECT_EQ(error.rfind("ERROR: ", 0), 0u) << error;
  EXPECT_NE(error.find("looking up the PyPI project 'broken'"), std::string::npos) << error;
  EXPECT_NE(error.find("https://index.example/simple/broken/: HTTP 500"), std::string::npos)
      << error;
  std::string mid3 = run(s, {"top3"});
  EXPECT_NE(mid3.find("looking up the PyPI project 'mid3'"), std::string::npos) << mid3;
  EXPECT_NE(mid3.find("https://index.example/simple/mid3/: HTTP 500"), std::string::npos) << mid3;

  // A failed page that only a wrong guess leads to does not fail the resolution, though the
  // prefetch reads it.
  FakeSource t;
  t.wheel("base", "2.5");
  t.wheel("base", "3.0");
  t.wheel("guess", "2.0", {.requires_dist = {"base>=3", "unused"}});  // guessed, then refused
  t.wheel("guess", "1.0");
  t.broken("unused");
  EXPECT_EQ(run_with(1, t, {"base<3", "guess"}), "base==2.5 guess==1.0");
  EXPECT_EQ(t.lookups, 2);
  t.lookups = 0;
  EXPECT_EQ(run_with(8, t, {"base<3", "guess"}), "base==2.5 guess==1.0");
  EXPECT_EQ(t.lookups, 3);  // base, guess and (guessed) unused
}

}  // namespace
}  // namespace de::pypi
