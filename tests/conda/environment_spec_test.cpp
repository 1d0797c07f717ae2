#include "docker_envs/conda/environment_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/match_spec.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(EnvironmentSpec, ParsesAllKeys) {
  auto spec = parse_environment_spec(R"(# comment
name: science
channels:
  - conda-forge
  - bioconda
dependencies:
  - python=3.11
  - numpy >=1.26,<2
  - conda-forge::scipy
  - sel(linux): libgcc
  - sel(osx): libcxx
variables:
  OMP_NUM_THREADS: "1"
  B: two
prefix: /opt/envs/science
image:
  base: debian:12
foo: bar
)",
                                     "env.yml");
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_EQ(spec->name, "science");
  EXPECT_EQ(spec->channels, (std::vector<std::string>{"conda-forge", "bioconda"}));
  EXPECT_EQ(spec->dependencies,
            (std::vector<std::string>{"python=3.11", "numpy >=1.26,<2", "conda-forge::scipy"}));
  ASSERT_EQ(spec->dependency_lines.size(), 5u);
  EXPECT_EQ(spec->dependency_lines[0].line, 7);
  EXPECT_EQ(spec->dependency_lines[3].selector, "linux");
  EXPECT_EQ(
      spec->dependencies_for("linux-64"),
      (std::vector<std::string>{"python=3.11", "numpy >=1.26,<2", "conda-forge::scipy", "libgcc"}));
  EXPECT_EQ(spec->dependencies_for("osx-arm64").back(), "libcxx");
  EXPECT_EQ(spec->variables, (std::vector<std::pair<std::string, std::string>>{
                                 {"OMP_NUM_THREADS", "1"}, {"B", "two"}}));
  // `image` and `prefix` are known; `foo` is warned about with its line.
  ASSERT_EQ(spec->warnings.size(), 1u);
  EXPECT_EQ(spec->warnings[0], "env.yml:18: unknown top-level key 'foo' (ignored)");
}

TEST(EnvironmentSpec, PipItemsAreKeptAsWrittenWithTheirLines) {
  auto spec = parse_environment_spec(
      "name: x\ndependencies:\n  - python\n  - pip:\n    - --index-url https://u:p@h/simple\n"
      "    - requests[socks] >=2 ; python_version >= '3.8'\n    - -r reqs.txt\n"
      "  - numpy\n  - pip:\n    - demo @ https://h/demo-1.0-py3-none-any.whl\n",
      "env.yml");
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_EQ(spec->dependencies, (std::vector<std::string>{"python", "numpy"}));
  ASSERT_EQ(spec->pip.size(), 4u);
  EXPECT_EQ(spec->pip[0].text, "--index-url https://u:p@h/simple");
  EXPECT_EQ(spec->pip[0].line, 5);
  EXPECT_EQ(spec->pip[1].text, "requests[socks] >=2 ; python_version >= '3.8'");
  EXPECT_EQ(spec->pip[1].line, 6);
  EXPECT_EQ(spec->pip[2].text, "-r reqs.txt");
  EXPECT_EQ(spec->pip[3].text, "demo @ https://h/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(spec->pip[3].line, 10);
  // An empty pip list is no error.
  auto empty = parse_environment_spec("dependencies:\n  - pip:\n", "env.yml");
  ASSERT_TRUE(empty) << empty.error().to_string();
  EXPECT_TRUE(empty->pip.empty());
}

TEST(EnvironmentSpec, MalformedPipSectionsNameTheLine) {
  auto not_list = parse_environment_spec("dependencies:\n  - pip: requests\n", "env.yml");
  ASSERT_FALSE(not_list);
  EXPECT_EQ(not_list.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(contains(not_list.error().to_string(), "env.yml:2: 'pip' must be a list"))
      << not_list.error().to_string();
  auto nested = parse_environment_spec("dependencies:\n  - pip:\n    - a\n    - {b: c}\n", "env.yml");
  ASSERT_FALSE(nested);
  EXPECT_TRUE(contains(nested.error().to_string(), "env.yml:4: a pip item must be"))
      << nested.error().to_string();
}

TEST(EnvironmentSpec, ErrorsNameFileAndLine) {
  auto bad_spec = parse_environment_spec("dependencies:\n  - numpy >=<1\n", "e.yml");
  ASSERT_FALSE(bad_spec);
  EXPECT_TRUE(contains(bad_spec.error().to_string(), "e.yml:2")) << bad_spec.error().to_string();
  auto bad_yaml = parse_environment_spec("dependencies: [a,\n  b\nname: : :\n", "e.yml");
  ASSERT_FALSE(bad_yaml);
  EXPECT_TRUE(contains(bad_yaml.error().to_string(), "e.yml:")) << bad_yaml.error().to_string();
  auto bad_type = parse_environment_spec("channels: conda-forge\n", "e.yml");
  ASSERT_FALSE(bad_type);
  EXPECT_TRUE(contains(bad_type.error().to_string(), "e.yml:1: 'channels' must be a list"))
      << bad_type.error().to_string();
  auto nested = parse_environment_spec("dependencies:\n  - {foo: bar}\n", "e.yml");
  ASSERT_FALSE(nested);
  EXPECT_TRUE(contains(nested.error().to_string(), "unexpected mapping 'foo'"));
  auto not_map = parse_environment_spec("- a\n- b\n", "e.yml");
  EXPECT_FALSE(not_map);
}

TEST(EnvironmentSpec, VirtualPackagesOfTheTarget) {
  auto spec = parse_environment_spec(
      "dependencies: [a]\nvirtual_packages:\n  __glibc: 2.36\n  __cuda: \"12.4\"\n"
      "  __archspec: x86_64_v3\n  __osx:\n",
      "e.yml");
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_TRUE(spec->warnings.empty());
  const auto& v = spec->virtual_packages;
  EXPECT_EQ(v.glibc, "2.36");
  EXPECT_EQ(v.cuda, "12.4");
  EXPECT_EQ(v.archspec, "x86_64_v3");
  EXPECT_EQ(v.osx, "");  // empty: removed
  EXPECT_FALSE(v.linux.has_value());
  EXPECT_FALSE(v.win.has_value());
  auto unknown = parse_environment_spec("virtual_packages:\n  __gpu: 1\n", "e.yml");
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(contains(unknown.error().to_string(), "e.yml:2: unknown virtual package '__gpu'"))
      << unknown.error().to_string();
  auto bad_version = parse_environment_spec("virtual_packages:\n  __glibc: '2..x'\n", "e.yml");
  ASSERT_FALSE(bad_version);
  EXPECT_TRUE(contains(bad_version.error().to_string(), "e.yml:2: virtual package __glibc"))
      << bad_version.error().to_string();
  auto not_map = parse_environment_spec("virtual_packages: [__glibc]\n", "e.yml");
  ASSERT_FALSE(not_map);
  EXPECT_TRUE(contains(not_map.error().to_string(), "e.yml:1: 'virtual_packages' must be a mapping"))
      << not_map.error().to_string();
}

TEST(EnvironmentSpec, EmptyAndNullSections) {
  auto spec = parse_environment_spec("name: nlp\nchannels:\n  - anaconda\ndependencies:\n", "e");
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_TRUE(spec->dependencies.empty());
  auto empty = parse_environment_spec("", "e");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->name.empty());
}

TEST(EnvironmentSpec, LoadsFileAndReportsMissing) {
  auto dir = *TempDir::create();
  fs::path file = dir.path() / "environment.yml";
  ASSERT_TRUE(write_file_atomic(file, "name: a\ndependencies: [zlib]\n"));
  auto spec = load_environment_spec(file);
  ASSERT_TRUE(spec) << spec.error().to_string();
  EXPECT_EQ(spec->file, file);
  EXPECT_EQ(spec->dependencies, std::vector<std::string>{"zlib"});
  auto missing = load_environment_spec(dir.path() / "nope.yml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
}

TEST(EnvironmentSpec, Selectors) {
  EXPECT_TRUE(selector_matches("linux", "linux-aarch64"));
  EXPECT_TRUE(selector_matches("unix", "osx-64"));
  EXPECT_FALSE(selector_matches("unix", "win-64"));
  EXPECT_TRUE(selector_matches("linux-64", "linux-64"));
  EXPECT_FALSE(selector_matches("osx", "linux-64"));
}

// Every real environment file from conda, mamba and rattler: parses, or fails only for the
// reasons we expect, and every dependency is a valid match spec; pip sections are kept.
TEST(EnvironmentSpec, RealFiles) {
  DE_REQUIRE_TESTDATA();
  int parsed = 0, with_pip = 0;
  for (const char* sub : {"conda", "mamba", "rattler"}) {
    for (const auto& entry : fs::directory_iterator(test::testdata_dir() / "env-files" / sub)) {
      std::string fname = entry.path().filename().string();
      bool yaml = fname.ends_with(".yml") || fname.ends_with(".yaml");
      if (!yaml || fname.find("lock") != std::string::npos) continue;
      auto spec = load_environment_spec(entry.path());
      std::string text = *read_file(entry.path());
      bool has_pip = text.find("- pip:") != std::string::npos;
      ASSERT_TRUE(spec) << fname << ": " << spec.error().to_string();
      if (has_pip) {
        EXPECT_FALSE(spec->pip.empty()) << fname;
        ++with_pip;
      }
      for (const auto& d : spec->dependency_lines) EXPECT_TRUE(MatchSpec::parse(d.spec)) << d.spec;
      ++parsed;
    }
  }
  EXPECT_GE(parsed, 10);
  RecordProperty("files_with_pip", with_pip);
  auto invalid = load_environment_spec(test::testdata_dir() / "env-files/conda/invalid_keys.yml");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->warnings.size(), 4u);
  EXPECT_TRUE(contains(invalid->warnings[1], "invalid_keys.yml:2: unknown top-level key 'chanels'"))
      << invalid->warnings[1];
  auto vars = load_environment_spec(test::testdata_dir() / "env-files/conda/valid_keys.yml");
  ASSERT_TRUE(vars);
  EXPECT_TRUE(vars->warnings.empty());
  EXPECT_EQ(vars->variables.size(), 1u);
  auto sel = load_environment_spec(test::testdata_dir() / "env-files/mamba/env_2.yaml");
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->dependencies_for("linux-64"),
            (std::vector<std::string>{"test1-unix", "test1-linux", "test2-linux", "test4"}));
  EXPECT_EQ(sel->dependencies_for("win-64"), (std::vector<std::string>{"test1-win", "test4"}));
}

}  // namespace
}  // namespace de::conda
