#include "docker_envs/pypi/pip_requirements.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "docker_envs/base/io.hpp"
#include "docker_envs/pypi/resolve_image.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<PipLine> lines(std::initializer_list<std::string> texts) {
  std::vector<PipLine> out;
  int n = 10;
  for (const auto& t : texts) out.push_back({t, fmt::format("env.yml:{}", n++)});
  return out;
}

Result<PipRequirements> read(std::initializer_list<std::string> texts, fs::path base = "/env",
                             std::map<std::string, std::string> env = {}) {
  auto l = lines(texts);
  return read_pip_lines(l, {.base_dir = std::move(base),
                            .getenv = [env](const std::string& name) -> std::optional<std::string> {
                              auto it = env.find(name);
                              if (it == env.end()) return std::nullopt;
                              return it->second;
                            }});
}

TEST(PipRequirements, RequirementsAndIndexOptions) {
  auto r = read({"requests[socks] >=2 ; python_version >= '3.8'", "--index-url https://h/simple/",
                 "--extra-index-url=https://x/simple", "--extra-index-url https://x/simple",
                 "-f ./wheels", "--pre", "  # a comment", "", "demo @ https://h/d-1.0-py3-none-any.whl",
                 "six  # trailing comment", "--only-binary :all:", "--trusted-host h"});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->requirements.size(), 3u);
  EXPECT_EQ(r->requirements[0].text, "requests[socks] >=2 ; python_version >= '3.8'");
  EXPECT_EQ(r->requirements[0].where, "env.yml:10");
  EXPECT_EQ(r->requirements[1].text, "demo @ https://h/d-1.0-py3-none-any.whl");
  EXPECT_EQ(r->requirements[2].text, "six");
  EXPECT_EQ(r->index_url, "https://h/simple");
  EXPECT_TRUE(r->pre);
  EXPECT_FALSE(r->no_index);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_TRUE(contains(r->warnings[0], "env.yml:21: --trusted-host is ignored")) << r->warnings[0];
  auto s = r->sources();
  EXPECT_EQ(s.index_urls, (std::vector<std::string>{"https://h/simple", "https://x/simple"}));
  EXPECT_EQ(s.find_links, std::vector<std::string>{"/env/wheels"});
}

TEST(PipRequirements, DefaultIndexAndNoIndex) {
  auto plain = read({"six"});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->sources().index_urls, std::vector<std::string>{std::string(kPypiIndex)});
  auto none = read({"six", "--no-index", "-f", "https://h/links.html"});
  ASSERT_FALSE(none);  // "-f" alone has no value
  EXPECT_TRUE(contains(none.error().to_string(), "env.yml:12: pip option -f needs a value"))
      << none.error().to_string();
  auto no_index = read({"six", "--no-index", "-fhttps://h/links.html"});
  ASSERT_TRUE(no_index) << no_index.error().to_string();
  EXPECT_TRUE(no_index->sources().index_urls.empty());
  EXPECT_EQ(no_index->sources().find_links, std::vector<std::string>{"https://h/links.html"});
}

TEST(PipRequirements, WheelPathsBecomeFileUrlsRelativeToTheFile) {
  auto r = read({"./wheels/demo_pkg-1.0-py3-none-any.whl",
                 "https://h/files/other-2.0-py3-none-any.whl#sha256=00"});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->requirements.size(), 2u);
  EXPECT_EQ(r->requirements[0].text,
            "demo_pkg @ file:///env/wheels/demo_pkg-1.0-py3-none-any.whl");
  EXPECT_EQ(r->requirements[1].text,
            "other @ https://h/files/other-2.0-py3-none-any.whl#sha256=00");
  auto sdist = read({"./dist/pkg-1.0.tar.gz"});
  ASSERT_FALSE(sdist);
  EXPECT_EQ(sdist.error().code(), Code::Unsupported);
  EXPECT_TRUE(contains(sdist.error().to_string(), "is a source distribution"));
}

TEST(PipRequirements, RequirementFilesNestedRelativeAndContinued) {
  auto dir = *TempDir::create();
  fs::create_directories(dir.path() / "sub");
  ASSERT_TRUE(write_file_atomic(dir.path() / "reqs.txt",
                                "# top\nalpha>=1 \\\n  ,<3\n-r sub/more.txt\n--index-url ${IDX}/simple\n"));
  ASSERT_TRUE(write_file_atomic(dir.path() / "sub" / "more.txt", "beta\n-f wheels\n"));
  auto r = read({"-r reqs.txt", "gamma"}, dir.path(), {{"IDX", "https://u:secret@h"}});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->requirements.size(), 3u);
  EXPECT_EQ(r->requirements[0].text, "alpha>=1   ,<3");
  EXPECT_EQ(r->requirements[0].where, (dir.path() / "reqs.txt").string() + ":2");
  EXPECT_EQ(r->requirements[1].text, "beta");
  EXPECT_EQ(r->requirements[1].where, (dir.path() / "sub" / "more.txt").string() + ":1");
  EXPECT_EQ(r->requirements[2].text, "gamma");
  EXPECT_EQ(r->index_url, "https://u:secret@h/simple");
  EXPECT_EQ(r->find_links, std::vector<std::string>{(dir.path() / "sub" / "wheels").string()});

  auto missing = read({"-r nope.txt"}, dir.path());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  EXPECT_TRUE(contains(missing.error().to_string(), "env.yml:10: -r nope.txt"));

  ASSERT_TRUE(write_file_atomic(dir.path() / "loop.txt", "-r loop.txt\n"));
  auto loop = read({"-r loop.txt"}, dir.path());
  ASSERT_FALSE(loop);
  EXPECT_TRUE(contains(loop.error().to_string(), "cycle")) << loop.error().to_string();
}

TEST(PipRequirements, RefusalsNameTheLine) {
  struct Case {
    std::string line;
    Code code;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {"-e ./src", Code::Unsupported, "env.yml:10: editable installs"},
           {"-c constraints.txt", Code::Unsupported, "env.yml:10: constraint files"},
           {"--no-binary :all:", Code::Unsupported, "wheels only"},
           {"--upgrade", Code::InvalidArgument, "env.yml:10: unknown pip option '--upgrade'"},
           {"six==1.0 --hash=sha256:00", Code::Unsupported, "env.yml:10: options after"},
           {"six >=<1", Code::InvalidArgument, "env.yml:10: pip requirement 'six >=<1'"},
           {"--index-url ${NOPE}", Code::InvalidArgument, "environment variable NOPE is not set"},
           {"--pre=yes", Code::InvalidArgument, "takes no value"},
       }) {
    auto r = read({c.line});
    ASSERT_FALSE(r) << c.line;
    EXPECT_EQ(r.error().code(), c.code) << c.line << ": " << r.error().to_string();
    EXPECT_TRUE(contains(r.error().to_string(), c.says)) << c.line << ": " << r.error().to_string();
  }
}

TEST(PipRequirements, CredentialsNeverInErrors) {
  auto r = read({"x @ https://user:hunter2@h/x-1.0-py3-none-any.whl ; os_name =="});
  ASSERT_FALSE(r);
  EXPECT_FALSE(contains(r.error().to_string(), "hunter2")) << r.error().to_string();
}

}  // namespace
}  // namespace de::pypi
