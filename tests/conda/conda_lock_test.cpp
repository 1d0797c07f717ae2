// conda-lock v1 reading/writing and the @EXPLICIT writer: own fixtures, then the real files.
#include "docker_envs/conda/conda_lock.hpp"

#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLock = R"(version: 1
metadata:
  content_hash:
    linux-64: abc
    osx-arm64: def
  channels:
    - url: conda-forge
      used_env_vars: []
  platforms:
    - linux-64
    - osx-arm64
  sources:
    - environment.yml
package:
  - name: python
    version: 3.10.4
    manager: conda
    platform: linux-64
    dependencies:
      libzlib: ">=1.2.11,<1.3.0a0"
      tzdata: "*"
    url: https://conda.anaconda.org/conda-forge/linux-64/python-3.10.4-h2660328_0_cpython.tar.bz2
    hash:
      md5: 00000000000000000000000000000001
      sha256: 0000000000000000000000000000000000000000000000000000000000000001
    category: main
    optional: false
  - name: libzlib
    version: 1.2.11
    manager: conda
    platform: linux-64
    dependencies: {}
    constrains:
      zlib: 1.2.11 *_1013
    url: https://conda.anaconda.org/conda-forge/linux-64/libzlib-1.2.11-h166bdaf_1013.conda
    hash:
      md5: 00000000000000000000000000000002
    category: main
    optional: false
  - name: tzdata
    version: 2022a
    manager: conda
    platform: linux-64
    dependencies: {}
    url: https://conda.anaconda.org/conda-forge/noarch/tzdata-2022a-h191b570_0.tar.bz2
    hash:
      md5: 00000000000000000000000000000003
      sha256: 0000000000000000000000000000000000000000000000000000000000000003
    category: main
    optional: false
  - name: pytest
    version: 7.1.2
    manager: conda
    platform: linux-64
    dependencies: {}
    url: https://conda.anaconda.org/conda-forge/noarch/pytest-7.1.2-py310hff52083_0.tar.bz2
    hash:
      md5: 00000000000000000000000000000004
    category: dev
    optional: true
  - name: requests
    version: 2.28.0
    manager: pip
    platform: osx-arm64
    dependencies: {}
    url: https://files.pythonhosted.org/requests-2.28.0-py3-none-any.whl
    hash:
      sha256: 0000000000000000000000000000000000000000000000000000000000000005
    category: main
    optional: false
)";

std::vector<std::string> names(const std::vector<PackageRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.name);
  return out;
}

TEST(CondaLock, ReadsOnePlatformInInstallOrder) {
  auto lock = parse_conda_lock(kLock, "lock.yml", {.platform = "linux-64"});
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->platform, "linux-64");
  EXPECT_EQ(lock->platforms, (std::vector<std::string>{"linux-64", "osx-arm64"}));
  EXPECT_EQ(lock->channels, std::vector<std::string>{"conda-forge"});
  EXPECT_EQ(lock->content_hash.at("linux-64"), "abc");
  // Dependencies first; dev (optional) packages left out.
  EXPECT_EQ(names(lock->packages), (std::vector<std::string>{"libzlib", "tzdata", "python"}));
  const auto& py = lock->packages[2];
  EXPECT_EQ(py.version, "3.10.4");
  EXPECT_EQ(py.build, "h2660328_0_cpython");
  EXPECT_EQ(py.subdir, "linux-64");
  EXPECT_EQ(py.channel, "conda-forge");
  EXPECT_EQ(py.fn, "python-3.10.4-h2660328_0_cpython.tar.bz2");
  EXPECT_EQ(py.depends, (std::vector<std::string>{"libzlib >=1.2.11,<1.3.0a0", "tzdata"}));
  ASSERT_TRUE(py.sha256 && py.md5);
  const auto& z = lock->packages[0];
  EXPECT_EQ(z.constrains, std::vector<std::string>{"zlib 1.2.11 *_1013"});
  EXPECT_EQ(z.build_number, 1013);
  EXPECT_FALSE(z.sha256);
  ASSERT_TRUE(z.md5);

  auto dev =
      parse_conda_lock(kLock, "lock.yml", {.platform = "linux-64", .categories = {"main", "dev"}});
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->packages.size(), 4u);
}

TEST(CondaLock, PlatformChoiceAndPipAreExplained) {
  auto none = parse_conda_lock(kLock, "lock.yml");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("linux-64, osx-arm64"), std::string::npos);
  EXPECT_NE(none.error().message().find("--platform"), std::string::npos);
  auto other = parse_conda_lock(kLock, "lock.yml", {.platform = "win-64"});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("win-64"), std::string::npos);
  auto pip = parse_conda_lock(kLock, "lock.yml", {.platform = "osx-arm64"});
  ASSERT_FALSE(pip);
  EXPECT_EQ(pip.error().code(), Code::Unsupported);
  EXPECT_NE(pip.error().message().find("requests 2.28.0 (line 61)"), std::string::npos)
      << pip.error().message();
}

TEST(CondaLock, MalformedFilesNameTheProblem) {
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {"version: 2\npackage: []\n", "version 2 is not supported"},
      {"version: -1\n", "invalid lock file version '-1'"},
      {"package: []\n", "no 'version'"},
      {"version: 1\nmetadata: {}\n", "no 'package' list"},
      {"version: 1\npackage:\n  - name: x\n    platform: linux-64\n    version: '1'\n"
       "    manager: conda\n",
       "lock.yml:3: package entry has no 'url'"},
      {"version: 1\npackage:\n  - name: x\n    platform: linux-64\n    version: '1'\n"
       "    manager: conda\n    url: https://h/c/linux-64/x-1-0.conda\n",
       "package x has no 'hash'"},
      {"version: 1\npackage:\n  - name: x\n    platform: linux-64\n    version: '1'\n"
       "    manager: conda\n    url: https://h/c/linux-64/x-1-0.conda\n    hash: {md5: zz}\n",
       "hash.md5"},
      {"version: 1\npackage: [\n", "invalid YAML"},
  };
  for (const auto& c : cases) {
    auto r = parse_conda_lock(c.text, "lock.yml");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().to_string().find(c.expect), std::string::npos)
        << c.text << "\n-> " << r.error().to_string();
  }
}

TEST(CondaLock, WriterOutputReadsBack) {
  auto lock = parse_conda_lock(kLock, "lock.yml", {.platform = "linux-64"});
  ASSERT_TRUE(lock);
  auto records = lock->packages;
  records[0].version = "1.10";  // must stay text, not become the number 1.1
  records[2].depends.push_back("libzlib !=1.2.12");
  auto text = write_conda_lock(records, {.platform = "linux-64",
                                         .channels = {"https://h.example/t/tok-99/ch"},
                                         .content_hash = "h1",
                                         .sources = {"environment.yml"}});
  ASSERT_TRUE(text) << text.error().to_string();
  EXPECT_EQ(text->find("tok-99"), std::string::npos) << *text;
  EXPECT_TRUE(looks_like_conda_lock(*text));
  auto back = parse_conda_lock(*text, "written.yml");
  ASSERT_TRUE(back) << back.error().to_string() << "\n" << *text;
  EXPECT_EQ(back->platform, "linux-64");
  EXPECT_EQ(back->content_hash.at("linux-64"), "h1");
  ASSERT_EQ(back->packages.size(), 3u);
  EXPECT_EQ(back->packages[0].version, "1.10");
  EXPECT_EQ(back->packages[2].depends,
            (std::vector<std::string>{"libzlib >=1.2.11,<1.3.0a0,!=1.2.12", "tzdata"}));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->packages[i].url, records[i].url);
    EXPECT_EQ(back->packages[i].md5, records[i].md5);
    EXPECT_EQ(back->packages[i].sha256, records[i].sha256);
    EXPECT_EQ(back->packages[i].constrains, records[i].constrains);
  }
  PackageRecord no_hash = records[0];
  no_hash.md5.reset();
  no_hash.sha256.reset();
  auto refused = write_conda_lock(std::span(&no_hash, 1), {.platform = "linux-64"});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("libzlib-1.10-h166bdaf_1013"), std::string::npos);
}

TEST(CondaLock, WriterPipEntriesReadBackWithoutCredentials) {
  auto lock = parse_conda_lock(kLock, "lock.yml", {.platform = "linux-64"});
  ASSERT_TRUE(lock);
  PypiLockEntry gamma{.name = "gamma",
                      .version = "1.0",
                      .location = "https://user:pw-77@idx.example/files/gamma-1.0-py3-none-any.whl",
                      .url = "https://user:pw-77@idx.example/files/gamma-1.0-py3-none-any.whl",
                      .sha256 = Digest::of("gamma")};
  gamma.requires_dist = {"delta >=1", "zeta *"};
  PypiLockEntry delta{.name = "delta",
                      .version = "1.10",
                      .location = "https://idx.example/files/delta-1.10-py3-none-any.whl",
                      .url = "https://idx.example/files/delta-1.10-py3-none-any.whl",
                      .sha256 = Digest::of("delta")};
  // gamma was asked for by URL (`gamma @ https://...`): conda-lock's `source: {type: url}`.
  gamma.direct = true;
  auto text = write_conda_lock(lock->packages, {.platform = "linux-64", .pypi = {gamma, delta}});
  ASSERT_TRUE(text) << text.error().to_string();
  EXPECT_EQ(text->find("pw-77"), std::string::npos) << *text;
  auto back = parse_lockfile(*text, "written.yml", {.platform = "linux-64", .pypi = true});
  ASSERT_TRUE(back) << back.error().to_string() << "\n" << *text;
  EXPECT_EQ(back->packages.size(), lock->packages.size());
  ASSERT_EQ(back->pypi.size(), 2u);
  EXPECT_EQ(back->pypi[0].name, "gamma");
  EXPECT_EQ(back->pypi[0].url, "https://idx.example/files/gamma-1.0-py3-none-any.whl");
  EXPECT_EQ(back->pypi[0].sha256, Digest::of("gamma"));
  EXPECT_EQ(back->pypi[0].requires_dist, (std::vector<std::string>{"delta >=1", "zeta"}));
  EXPECT_TRUE(back->pypi[0].direct) << *text;
  EXPECT_NE(text->find("    source:\n      type: url\n      url: \"https://idx.example/files/gamma-1.0"),
            std::string::npos)
      << *text;
  EXPECT_EQ(back->pypi[1].version, "1.10");
  EXPECT_TRUE(back->pypi[1].requires_dist.empty());
  EXPECT_FALSE(back->pypi[1].direct);
  // Without a sha256: refused, naming the package.
  delta.sha256.reset();
  auto refused = write_conda_lock(lock->packages, {.platform = "linux-64", .pypi = {delta}});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("pypi package delta 1.10"), std::string::npos);
}

TEST(ExplicitWriter, RoundTripsThroughTheParser) {
  auto lock = parse_conda_lock(kLock, "lock.yml", {.platform = "linux-64"});
  ASSERT_TRUE(lock);
  auto text = write_explicit(lock->packages, "linux-64");
  ASSERT_TRUE(text) << text.error().to_string();
  EXPECT_FALSE(looks_like_conda_lock(*text));
  auto back = parse_explicit(*text, "written.txt");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->platform, "linux-64");
  ASSERT_EQ(back->packages.size(), lock->packages.size());
  for (std::size_t i = 0; i < back->packages.size(); ++i) {
    const auto& a = back->packages[i];
    const auto& b = lock->packages[i];
    EXPECT_EQ(a.url, b.url);
    EXPECT_EQ(a.dist_name(), b.dist_name());
    // sha256 when known, else md5.
    if (b.sha256) {
      EXPECT_EQ(a.sha256, b.sha256);
    } else {
      EXPECT_EQ(a.md5, b.md5);
    }
  }
  EXPECT_FALSE(write_explicit(lock->packages, "amiga-68k"));
}

// --- real files -------------------------------------------------------------------------------

fs::path env_files() { return test::testdata_dir() / "env-files"; }

TEST(CondaLockTestdata, RealLockFilesRead) {
  DE_REQUIRE_TESTDATA();
  auto one =
      load_conda_lock(env_files() / "mamba/good_one_package-lock.yaml", {.platform = "win-64"});
  ASSERT_TRUE(one) << one.error().to_string();
  ASSERT_EQ(one->packages.size(), 1u);
  EXPECT_EQ(one->packages[0].name, "libzlib");
  EXPECT_EQ(one->packages[0].depends,
            (std::vector<std::string>{"vc >=14.1,<15.0a0", "vs2015_runtime >=14.16.27012"}));

  auto env = load_conda_lock(env_files() / "mamba/test-env-lock.yaml", {.platform = "linux-64"});
  ASSERT_TRUE(env) << env.error().to_string();
  EXPECT_EQ(env->packages.size(), 6u);  // 15 over three platforms
  // Install order: every dependency present in the lock comes before its dependent.
  std::map<std::string, std::size_t> pos;
  for (std::size_t i = 0; i < env->packages.size(); ++i) pos[env->packages[i].name] = i;
  for (const auto& r : env->packages)
    for (const auto& d : r.depends) {
      auto name = d.substr(0, d.find(' '));
      if (pos.contains(name)) {
        EXPECT_LT(pos[name], pos[r.name]) << r.name << " needs " << name;
      }
    }

  auto v0 = load_conda_lock(env_files() / "rattler/conda-lock_v0_python-conda-lock.yml",
                            {.platform = "linux-64"});
  ASSERT_TRUE(v0) << v0.error().to_string();
  EXPECT_GT(v0->packages.size(), 10u);

  // Its main category holds pip packages: refused, each named.
  auto cats = load_conda_lock(env_files() / "mamba/good_multiple_categories-lock.yaml",
                              {.platform = "linux-64"});
  ASSERT_FALSE(cats);
  EXPECT_EQ(cats.error().code(), Code::Unsupported);
  EXPECT_NE(cats.error().message().find("certifi 2022.6.15.1"), std::string::npos);
}

TEST(CondaLockTestdata, RealFilesRefusedClearly) {
  DE_REQUIRE_TESTDATA();
  auto bad_package = load_conda_lock(env_files() / "mamba/bad_package-lock.yaml");
  ASSERT_FALSE(bad_package);
  EXPECT_NE(bad_package.error().to_string().find("_libgcc_mutex"), std::string::npos)
      << bad_package.error().to_string();
  EXPECT_NE(bad_package.error().to_string().find("bad_package-lock.yaml:4"), std::string::npos)
      << bad_package.error().to_string();
  auto bad_version = load_conda_lock(env_files() / "mamba/bad_version-lock.yaml");
  ASSERT_FALSE(bad_version);
  EXPECT_NE(bad_version.error().to_string().find("version '-1'"), std::string::npos);
  auto pip = load_conda_lock(env_files() / "mamba/test-env-pip-lock.yaml");
  ASSERT_FALSE(pip);
  EXPECT_EQ(pip.error().code(), Code::Unsupported);
  EXPECT_NE(pip.error().message().find("pip packages are not supported"), std::string::npos);
  for (const char* f :
       {"conda-lock_v4_python-lock.yml", "conda-lock_v6_python-from-conda-only-lock.yml",
        "conda-lock_v7_sources-lock.yml"}) {
    auto r = load_conda_lock(env_files() / "rattler" / f);
    ASSERT_FALSE(r) << f;
    EXPECT_EQ(r.error().code(), Code::Unsupported) << r.error().to_string();
  }
}

TEST(CondaLockTestdata, RealFilesSurviveWriteAndRead) {
  DE_REQUIRE_TESTDATA();
  auto env = load_conda_lock(env_files() / "mamba/test-env-lock.yaml", {.platform = "linux-64"});
  ASSERT_TRUE(env);
  auto text = write_conda_lock(env->packages, {.platform = "linux-64", .channels = env->channels});
  ASSERT_TRUE(text);
  auto back = parse_conda_lock(*text, "written");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(names(back->packages), names(env->packages));
  auto explicit_text = write_explicit(env->packages, "linux-64");
  ASSERT_TRUE(explicit_text);
  auto parsed = parse_explicit(*explicit_text, "written");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->packages.size(), env->packages.size());
}

}  // namespace
}  // namespace de::conda
