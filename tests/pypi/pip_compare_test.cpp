// Our resolution against real pip's (`pip install --dry-run --report`, Debian's python3-pip) on
// the same local index: generated wheels (markers, extras, Requires-Python, several platform tags,
// yanked, pre-releases, an sdist-only version, a conflict) and Debian's real wheels. The target
// is the host's Python and glibc, so that pip's answer applies to it. Skips without
// /usr/bin/python3 and its pip.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "docker_envs/base/io.hpp"
#include "docker_envs/pypi/index_client.hpp"
#include "docker_envs/pypi/resolver.hpp"
#include "support/fake_http_server.hpp"
#include "support/testdata.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;
using ::de::test::FakeHttpServer;
using ::de::test::HttpRequest;
using ::de::test::HttpResponse;
using ::de::test::run_command;

constexpr const char* kPython = "/usr/bin/python3";

// One shell word: 'it'\''s' for it's.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "name==version filename" per distribution, sorted; "FAIL" when there is no resolution.
using Answer = std::set<std::string>;

class PipCompare : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_command(std::string(kPython) + " -m pip --version").status != 0)
      GTEST_SKIP() << kPython << " -m pip is not available (Debian package python3-pip)";
    auto dir = TempDir::create();
    ASSERT_TRUE(dir);
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    auto made = run_command(std::string(kPython) + " " DE_SOURCE_DIR "/tests/pypi/make_test_index.py '" +
                            dir_->path().string() + "'");
    ASSERT_EQ(made.status, 0) << made.err;
    fs::path root = dir_->path();
    server_ = std::make_unique<FakeHttpServer>([root](const HttpRequest& req) {
      std::string target = req.target.substr(0, req.target.find('?'));
      if (target.find("..") != std::string::npos) return HttpResponse{.status = 404};
      fs::path p = root / target.substr(1);
      if (target.ends_with("/")) p /= "index.html";
      auto body = read_file(p);
      if (!body) return HttpResponse{.status = 404};
      std::string type = p.extension() == ".html" ? "text/html" : "application/octet-stream";
      return HttpResponse{.headers = {{"Content-Type", type}}, .body = std::move(*body)};
    });
    auto facts = run_command(std::string(kPython) +
                             " -c 'import platform; print(platform.python_version()); "
                             "print(platform.libc_ver()[1]); print(platform.machine())'");
    ASSERT_EQ(facts.status, 0);
    std::istringstream in(facts.out);
    std::string python, glibc, machine;
    in >> python >> glibc >> machine;
    std::string platform = machine == "x86_64" ? "linux-64" : "linux-" + machine;
    auto t = Target::for_image(TargetSpec{.platform = platform,
                                          .python_version = python,
                                          .python_build = "h_0_cpython",
                                          .glibc = glibc});
    ASSERT_TRUE(t) << t.error().to_string();
    target_ = *t;
  }

  std::string index_url() const { return "http://" + server_->host() + "/simple/"; }

  Answer pip(const std::vector<std::string>& reqs) {
    fs::path report = dir_->path() / "report.json";
    std::string cmd = "PIP_CONFIG_FILE=/dev/null " + std::string(kPython) +
                      " -m pip install --dry-run --quiet --ignore-installed --only-binary :all: "
                      "--no-cache-dir --disable-pip-version-check --report '" +
                      report.string() + "' --index-url " + index_url();
    for (const auto& r : reqs) cmd += " " + shell_quote(r);
    fs::remove(report);
    auto result = run_command(cmd);
    if (result.status != 0) return Answer{"FAIL"};
    auto text = read_file(report);
    EXPECT_TRUE(text);
    auto doc = nlohmann::json::parse(text ? *text : "{}", nullptr, false);
    Answer out;
    for (const auto& item : doc["install"]) {
      std::string url = item["download_info"]["url"].get<std::string>();
      out.insert(normalize_name(item["metadata"]["name"].get<std::string>()) + "==" +
                 item["metadata"]["version"].get<std::string>() + " " +
                 url.substr(url.rfind('/') + 1));
    }
    return out;
  }

  Answer ours(const std::vector<std::string>& reqs) {
    auto transport = make_index_transport();
    IndexClient client(IndexSources{.index_urls = {index_url()}}, *transport);
    ResolveRequest request;
    for (const auto& r : reqs) request.requirements.push_back(*Requirement::parse(r));
    auto outcome = resolve(request, target_, client);
    EXPECT_TRUE(outcome) << outcome.error().to_string();
    if (!outcome || std::holds_alternative<Unresolvable>(*outcome)) return Answer{"FAIL"};
    Answer out;
    for (const auto& d : std::get<Resolution>(*outcome).distributions)
      out.insert(normalize_name(d.name) + "==" + d.version.to_string() + " " + d.file.filename);
    return out;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeHttpServer> server_;
  Target target_;
};

std::string show(const Answer& a) {
  std::string out;
  for (const auto& s : a) out += "\n  " + s;
  return out;
}

// The one deliberate difference: when only a pre-release satisfies a specifier that names none,
// PEP 440 says to accept it ("if the only available version that satisfies the version specifier
// is a pre-release") and so do we; pip 23 refuses (it only falls back when asked with --pre).
TEST_F(PipCompare, OnlyPreReleaseFitsWhereDeliberatelyUnlikePip) {
  EXPECT_EQ(pip({"delta>1.0"}), Answer{"FAIL"});
  EXPECT_EQ(ours({"delta>1.0"}), Answer{"delta==2.0rc1 delta-2.0rc1-py3-none-any.whl"});
}

TEST_F(PipCompare, SameAnswersAsPip) {
  const std::vector<std::vector<std::string>> sets{
      {"alpha"},                       // Requires-Python excludes 2.0
      {"beta"},                        // the most specific of four wheels of 1.1
      {"gamma"},                       // markers: zeta on linux, not nothing-here; eta-pkg wheel
      {"gamma[fast]"},                 // an extra
      {"GAMMA[Fast,old]"},             // names and extras normalised; an extra whose marker fails
      {"zeta"},                        // a yanked newest version is skipped
      {"zeta==1.1"},                   // ... unless pinned
      {"delta"},                       // no pre-release
      {"delta>=2.0rc1"},               // asked for
      {"pip", "setuptools", "wheel"},  // Debian's wheels
      {"alpha; python_version < '3'", "beta==1.0"},
      {"left", "right"},  // a conflict
      {"eta-pkg>=2"},     // only an sdist
      {"beta>1.1"},       // only wheels for other targets
  };
  for (const auto& reqs : sets) {
    std::string name;
    for (const auto& r : reqs) name += r + " ";
    Answer want = pip(reqs);
    Answer got = ours(reqs);
    EXPECT_EQ(got, want) << "requirements: " << name << "\npip:" << show(want) << "\nours:" << show(got);
  }
}

}  // namespace
}  // namespace de::pypi
