// The lock model (lock_file.hpp) from locks written here: pixi 4-7, conda-lock v1 categories and
// pip entries, @EXPLICIT, selection, and hostile input. The real files: lock_testdata_test.cpp.
#include "docker_envs/conda/lock_file.hpp"

#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

const std::string kSha1(64, '1');
const std::string kSha2(64, '2');
const std::string kMd5(32, '3');

std::vector<std::string> names(const std::vector<PackageRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.name);
  return out;
}

bool has(const Error& e, std::string_view text) {
  return e.to_string().find(text) != std::string::npos;
}

// Version 6: name/version/build from the URL's file name; two environments, two platforms.
const std::string kPixiV6 = R"(version: 6
environments:
  default:
    channels:
    - url: https://h.example/chan/
    indexes:
    - https://pypi.org/simple
    packages:
      linux-64:
      - conda: https://h.example/chan/linux-64/ld_impl_linux-64-2.40-h41732ed_0.conda
      - conda: https://h.example/chan/noarch/python-dateutil-2.8.2-pyhd8ed1ab_0.tar.bz2
      - conda: https://h.example/chan/linux-64/weird.conda
      osx-arm64:
      - conda: https://h.example/chan/noarch/python-dateutil-2.8.2-pyhd8ed1ab_0.tar.bz2
  test:
    channels:
    - url: https://h.example/chan/
    packages:
      linux-64:
      - conda: https://h.example/chan/noarch/python-dateutil-2.8.2-pyhd8ed1ab_0.tar.bz2
      - pypi: https://files.example/six-1.16.0-py2.py3-none-any.whl
        extras: [test]
packages:
- conda: https://h.example/chan/linux-64/ld_impl_linux-64-2.40-h41732ed_0.conda
  sha256: )" + kSha1 + R"(
  md5: )" + kMd5 + R"(
  constrains:
  - binutils_impl_linux-64 2.40
  license: GPL-3.0-only
  size: 704696
  timestamp: 1674833944779
- conda: https://h.example/chan/noarch/python-dateutil-2.8.2-pyhd8ed1ab_0.tar.bz2
  sha256: )" + kSha2 + R"(
  depends:
  - ld_impl_linux-64 >=2.40
  noarch: python
- conda: https://h.example/chan/linux-64/weird.conda
  name: my-tool
  version: 1.2.3
  build: h123_7
  md5: )" + kMd5 + R"(
- pypi: https://files.example/six-1.16.0-py2.py3-none-any.whl
  name: six
  version: 1.16.0
  sha256: )" + kSha1 + R"(
  requires_dist:
  - pytest ; extra == 'test'
  requires_python: '>=2.7'
)";

TEST(PixiLock, V6NamesComeFromTheFileName) {
  auto lock = read_lock(kPixiV6, "pixi.lock");
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->format, LockFormat::Pixi);
  EXPECT_EQ(lock->version, 6);
  ASSERT_EQ(lock->environments.size(), 2u);
  const LockEnvironment* env = lock->environment("default");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->channels, std::vector<std::string>{"https://h.example/chan/"});
  EXPECT_EQ(env->indexes, std::vector<std::string>{"https://pypi.org/simple"});
  const LockPlatform* linux = env->platform("linux-64");
  ASSERT_TRUE(linux);
  ASSERT_EQ(linux->packages.size(), 3u);
  const PackageRecord& ld = linux->packages[0].record;
  EXPECT_EQ(ld.name, "ld_impl_linux-64");  // dashes in the name
  EXPECT_EQ(ld.version, "2.40");
  EXPECT_EQ(ld.build, "h41732ed_0");
  EXPECT_EQ(ld.build_number, 0);
  EXPECT_EQ(ld.subdir, "linux-64");
  EXPECT_EQ(ld.fn, "ld_impl_linux-64-2.40-h41732ed_0.conda");
  EXPECT_EQ(ld.sha256->hex(), kSha1);
  EXPECT_EQ(ld.md5->hex(), kMd5);
  EXPECT_EQ(ld.constrains, std::vector<std::string>{"binutils_impl_linux-64 2.40"});
  EXPECT_EQ(ld.size, 704696u);
  EXPECT_EQ(ld.timestamp, 1674833944779);
  EXPECT_EQ(ld.license, "GPL-3.0-only");
  EXPECT_EQ(linux->packages[0].line, 24);
  const PackageRecord& du = linux->packages[1].record;
  EXPECT_EQ(du.name, "python-dateutil");
  EXPECT_EQ(du.version, "2.8.2");
  EXPECT_EQ(du.build, "pyhd8ed1ab_0");
  EXPECT_EQ(du.subdir, "noarch");
  EXPECT_EQ(du.noarch, NoarchKind::Python);
  EXPECT_EQ(du.fn, "python-dateutil-2.8.2-pyhd8ed1ab_0.tar.bz2");
  EXPECT_EQ(du.depends, std::vector<std::string>{"ld_impl_linux-64 >=2.40"});
  // A file name that does not say name-version-build: the entry does.
  const PackageRecord& weird = linux->packages[2].record;
  EXPECT_EQ(weird.dist_name(), "my-tool-1.2.3-h123_7");
  EXPECT_EQ(weird.build_number, 7);
  EXPECT_EQ(weird.url, "https://h.example/chan/linux-64/weird.conda");

  // Selection: dependencies first.
  auto selected = select_environment(*lock, {.platform = "linux-64"});
  ASSERT_TRUE(selected) << selected.error().to_string();
  EXPECT_EQ(selected->format, LockFormat::Pixi);
  EXPECT_EQ(names(selected->packages),
            (std::vector<std::string>{"ld_impl_linux-64", "my-tool", "python-dateutil"}));
  // No platform: linux-64 among several.
  auto chosen = select_environment(*lock, {});
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->platform, "linux-64");
  auto osx = select_environment(*lock, {.platform = "osx-arm64"});
  ASSERT_TRUE(osx);
  EXPECT_EQ(names(osx->packages), std::vector<std::string>{"python-dateutil"});
}

TEST(PixiLock, PypiEntriesAreKeptAndRefusedWithTheirLines) {
  auto lock = read_lock(kPixiV6, "pixi.lock");
  ASSERT_TRUE(lock);
  const LockPlatform* p = lock->environment("test")->platform("linux-64");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->pypi.size(), 1u);
  const PypiLockEntry& six = p->pypi[0];
  EXPECT_EQ(six.name, "six");
  EXPECT_EQ(six.version, "1.16.0");
  EXPECT_EQ(six.location, "https://files.example/six-1.16.0-py2.py3-none-any.whl");
  EXPECT_EQ(six.sha256->hex(), kSha1);
  EXPECT_EQ(six.requires_dist, std::vector<std::string>{"pytest ; extra == 'test'"});
  EXPECT_EQ(six.requires_python, ">=2.7");
  EXPECT_EQ(six.extras, std::vector<std::string>{"test"});
  EXPECT_EQ(six.line, 42);
  auto refused = select_environment(*lock, {.environment = "test"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::Unsupported);
  EXPECT_TRUE(has(refused.error(), "six 1.16.0 (line 42)")) << refused.error().to_string();
  EXPECT_TRUE(has(refused.error(), "pip packages are not supported"));
}

TEST(PixiLock, UnknownEnvironmentListsTheOnesThereAre) {
  auto r = parse_lockfile(kPixiV6, "pixi.lock", {.environment = "prod"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(has(r.error(), "no environment 'prod' (the lock has: default, test)"))
      << r.error().to_string();
  auto platform = parse_lockfile(kPixiV6, "pixi.lock", {.platform = "win-64"});
  ASSERT_FALSE(platform);
  EXPECT_TRUE(has(platform.error(), "the lock has linux-64, osx-arm64"))
      << platform.error().to_string();
}

TEST(PixiLock, NewerVersionsAreRefusedNamingThem) {
  for (std::string v : {"8", "1000"}) {
    auto text = "version: " + v + "\nenvironments: {}\npackages: []\n";
    auto r = read_lock(text, "pixi.lock");
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().code(), Code::Unsupported);
    EXPECT_TRUE(has(r.error(), "pixi.lock:1: lock file format version " + v + " is newer"))
        << r.error().to_string();
  }
  auto old = read_lock("version: 3\nenvironments: {}\npackages: []\n", "pixi.lock");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code(), Code::Unsupported);
  auto bad = read_lock("version: seven\nenvironments: {}\n", "pixi.lock");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(has(bad.error(), "invalid lock file version 'seven'")) << bad.error().to_string();
}

// A v6 lock with one path-based package, written in `dir`.
std::string path_lock(std::string_view path) {
  return fmt::format(R"(version: 6
environments:
  default:
    channels: []
    packages:
      linux-64:
      - conda: {0}
packages:
- conda: {0}
  sha256: {1}
)",
                     path, kSha1);
}

TEST(PixiLock, PathPackagesAreRelativeToTheLockFile) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto text = path_lock("./pkgs/linux-64/tiny-tool-1.0-h0_2.conda");
  auto lock = read_lock(text, "pixi.lock", dir->path());
  ASSERT_TRUE(lock) << lock.error().to_string();
  const auto& r = lock->environments[0].platforms[0].packages[0].record;
  EXPECT_EQ(r.url,
            path_to_file_url(fs::absolute(dir->path()) / "pkgs/linux-64/tiny-tool-1.0-h0_2.conda"));
  EXPECT_EQ(r.dist_name(), "tiny-tool-1.0-h0_2");
  EXPECT_EQ(r.build_number, 2);
  EXPECT_EQ(r.subdir, "linux-64");
  EXPECT_TRUE(r.channel.empty());
  // load_lock: relative to the file's directory, whatever the working directory.
  fs::create_directories(dir->path() / "sub");
  ASSERT_TRUE(write_file_atomic(dir->path() / "sub/pixi.lock", text));
  auto loaded = load_lock(dir->path() / "sub/pixi.lock");
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->environments[0].platforms[0].packages[0].record.url,
            path_to_file_url(dir->path() / "sub/pkgs/linux-64/tiny-tool-1.0-h0_2.conda"));
  // Without a base directory: the directory of `what`.
  auto by_name = read_lock(text, (dir->path() / "sub/pixi.lock").string());
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->environments[0].platforms[0].packages[0].record.url,
            loaded->environments[0].platforms[0].packages[0].record.url);
}

TEST(PixiLock, HostileInputIsRefusedClearly) {
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {path_lock("../outside/x-1-0.conda"),
       "pixi.lock:9: package path '../outside/x-1-0.conda' "
       "leaves the lock file's directory"},
      {path_lock("pkgs/../../x-1-0.conda"), "leaves the lock file's directory"},
      {path_lock("/etc/x-1-0.conda"), "leaves the lock file's directory"},
      {"version: 6\nenvironments: {}\n", "no 'packages' list"},
      {"version: 6\npackages: []\n", "no 'environments' mapping"},
      {"version: 6\nenvironments:\n  default:\n    packages:\n      linux-64:\n"
       "      - conda: https://h/c/linux-64/a-1-0.conda\npackages: []\n",
       "pixi.lock:6: environment 'default', platform linux-64 names "
       "'https://h/c/linux-64/a-1-0.conda', which the 'packages' list does not describe"},
      {"version: 6\nenvironments: {}\npackages:\n- conda: https://h/c/linux-64/a-1-0.conda\n",
       "pixi.lock:4: package a has no sha256 or md5"},
      {"version: 6\nenvironments: {}\npackages:\n- conda: https://h/c/linux-64/a-1-0.conda\n"
       "  sha256: xyz\n",
       "pixi.lock:4: package a: sha256"},
      {"version: 6\nenvironments: {}\npackages:\n- name: a\n", "neither 'conda' nor 'pypi'"},
      {"version: 6\nenvironments: {}\npackages:\n- conda: https://h/c/linux-64/x.conda\n  md5: " +
           kMd5 + "\n",
       "cannot tell the name, version and build"},
      {"version: 6\nenvironments: {}\npackages:\n- pypi: https://h/x.whl\n", "has no 'name'"},
      {"version: 6\nenvironments: {}\npackages:\n- conda: https://h/c/linux-64/a-1-0.conda\n"
       "  md5: " +
           kMd5 + "\n  size: big\n",
       "pixi.lock:6: 'size' must be a whole number"},
      {"version: 5\nenvironments: {}\npackages:\n- name: a\n",
       "pixi.lock:4: package entry has no 'kind'"},
      {"version: 5\nenvironments: {}\npackages:\n- kind: conda\n  name: a\n  version: '1'\n",
       "package entry has no 'url'"},
      {"version: 7\nplatforms:\n- name: linux-64\nenvironments:\n  default:\n    packages:\n"
       "      win-64: []\npackages: []\n",
       "uses platform 'win-64', which 'platforms' does not declare"},
      {"version: 6\nenvironments: [\n", "invalid YAML"},
  };
  for (const auto& c : cases) {
    auto r = read_lock(c.text, "pixi.lock", "/nonexistent-base");
    ASSERT_FALSE(r) << c.text;
    EXPECT_TRUE(has(r.error(), c.expect)) << c.text << "\n-> " << r.error().to_string();
  }
}

TEST(PixiLock, V5KindEntriesAndBuildFromTheUrl) {
  std::string text = R"(version: 5
environments:
  default:
    channels:
    - url: conda-forge
    find-links:
    - path: ./links
    packages:
      linux-64:
      - conda: https://h.example/c/linux-64/zlib-1.3-h0_1.tar.bz2
      - pypi: ./links/idna-3.7-py3-none-any.whl
packages:
- kind: conda
  name: zlib
  version: '1.3'
  subdir: linux-64
  url: https://h.example/c/linux-64/zlib-1.3-h0_1.tar.bz2
  md5: )" + kMd5 + R"(
- kind: pypi
  name: idna
  version: '3.7'
  path: ./links/idna-3.7-py3-none-any.whl
  sha256: )" + kSha2 +
                     "\n";
  auto lock = read_lock(text, "pixi.lock");
  ASSERT_TRUE(lock) << lock.error().to_string();
  const auto& env = lock->environments[0];
  EXPECT_EQ(env.channels, std::vector<std::string>{"conda-forge"});
  EXPECT_EQ(env.find_links, std::vector<std::string>{"./links"});
  const auto& p = env.platforms[0];
  ASSERT_EQ(p.packages.size(), 1u);
  EXPECT_EQ(p.packages[0].record.dist_name(), "zlib-1.3-h0_1");
  EXPECT_EQ(p.packages[0].record.build_number, 1);
  ASSERT_EQ(p.pypi.size(), 1u);
  EXPECT_EQ(p.pypi[0].location, "./links/idna-3.7-py3-none-any.whl");
  EXPECT_EQ(p.pypi[0].line, 19);
}

TEST(PixiLock, V7PlatformNamesAndSourcePackages) {
  std::string text = R"(version: 7
platforms:
- name: linux-64-cuda
  subdir: linux-64
  virtual-packages:
  - __cuda >= 12
- name: win-64
environments:
  default:
    channels:
    - url: https://h.example/c/
    packages:
      linux-64-cuda:
      - conda: https://h.example/c/linux-64/a-1-0.conda
      win-64:
      - conda_source: my-app[1234abcd] @ .
packages:
- conda: https://h.example/c/linux-64/a-1-0.conda
  sha256: )" + kSha1 +
                     R"(
- conda_source: my-app[1234abcd] @ .
  version: '0.1'
  build: h0
  subdir: win-64
)";
  auto lock = read_lock(text, "pixi.lock");
  ASSERT_TRUE(lock) << lock.error().to_string();
  // The platform by its conda subdir, when one platform has it.
  auto linux = select_environment(*lock, {.platform = "linux-64"});
  ASSERT_TRUE(linux) << linux.error().to_string();
  EXPECT_EQ(linux->platform, "linux-64-cuda");
  EXPECT_EQ(linux->subdir, "linux-64");
  EXPECT_EQ(names(linux->packages), std::vector<std::string>{"a"});
  auto win = select_environment(*lock, {.platform = "win-64"});
  ASSERT_FALSE(win);
  EXPECT_EQ(win.error().code(), Code::Unsupported);
  EXPECT_TRUE(has(win.error(), "built from source are not supported: my-app (line 20)"))
      << win.error().to_string();
}

TEST(PixiLock, SelectorsTellDescriptionsOfOneLocationApart) {
  // Two builds of one source location (v6): the selector's build picks one.
  std::string text = R"(version: 6
environments:
  default:
    channels: []
    packages:
      linux-64:
      - conda: ./app
        build: hb_1
packages:
- conda: ./app
  name: app
  version: '1.0'
  build: ha_0
  subdir: linux-64
- conda: ./app
  name: app
  version: '1.0'
  build: hb_1
  subdir: linux-64
)";
  auto lock = read_lock(text, "pixi.lock");
  ASSERT_TRUE(lock) << lock.error().to_string();
  const auto& packages = lock->environments[0].platforms[0].packages;
  ASSERT_EQ(packages.size(), 1u);
  EXPECT_EQ(packages[0].record.build, "hb_1");
  EXPECT_EQ(packages[0].line, 15);
  EXPECT_EQ(packages[0].source, "./app");
  auto refused = select_environment(*lock, {});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(has(refused.error(), "built from source are not supported: app (line 15)"))
      << refused.error().to_string();
}

// conda-lock v1 as conda-lock writes it: several platforms, categories, pip entries.
constexpr std::string_view kCondaLock = R"(version: 1
metadata:
  content_hash:
    linux-64: hash-linux
    osx-64: hash-osx
  channels:
  - url: conda-forge
    used_env_vars: []
  platforms:
  - linux-64
  - osx-64
  sources:
  - environment.yml
package:
- name: zlib
  version: '1.3'
  manager: conda
  platform: linux-64
  dependencies: {}
  url: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3-h0_1.conda
  hash:
    md5: 33333333333333333333333333333333
  category: main
  optional: false
- name: pytest
  version: 8.0.0
  manager: conda
  platform: linux-64
  dependencies:
    zlib: '>=1.3'
  url: https://conda.anaconda.org/conda-forge/noarch/pytest-8.0.0-pyh0_0.conda
  hash:
    sha256: 1111111111111111111111111111111111111111111111111111111111111111
  category: dev
  optional: true
- name: pytest
  version: 8.0.0
  manager: conda
  platform: linux-64
  dependencies:
    zlib: '>=1.3'
  url: https://conda.anaconda.org/conda-forge/noarch/pytest-8.0.0-pyh0_0.conda
  hash:
    sha256: 1111111111111111111111111111111111111111111111111111111111111111
  category: test
  optional: true
- name: requests
  version: 2.31.0
  manager: pip
  platform: osx-64
  dependencies:
    idna: '>=2.5'
  url: https://files.example/requests-2.31.0-py3-none-any.whl
  hash:
    sha256: 2222222222222222222222222222222222222222222222222222222222222222
  category: main
  optional: false
)";

TEST(CondaLockModel, CategoriesPlatformsPipAndContentHash) {
  auto lock = read_lock(kCondaLock, "conda-lock.yml");
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->format, LockFormat::CondaLock);
  ASSERT_EQ(lock->environments.size(), 1u);
  const auto& env = lock->environments[0];
  EXPECT_EQ(env.name, "default");
  ASSERT_EQ(env.platforms.size(), 2u);
  EXPECT_EQ(env.platform("linux-64")->content_hash, "hash-linux");
  EXPECT_EQ(env.platform("osx-64")->content_hash, "hash-osx");
  const auto& pip = env.platform("osx-64")->pypi;
  ASSERT_EQ(pip.size(), 1u);
  EXPECT_EQ(pip[0].name, "requests");
  EXPECT_EQ(pip[0].requires_dist, std::vector<std::string>{"idna >=2.5"});
  EXPECT_EQ(pip[0].sha256->hex(), std::string(64, '2'));
  EXPECT_EQ(pip[0].line, 47);

  auto main = select_environment(*lock, {.platform = "linux-64"});
  ASSERT_TRUE(main) << main.error().to_string();
  EXPECT_EQ(names(main->packages), std::vector<std::string>{"zlib"});
  EXPECT_EQ(main->content_hash, "hash-linux");
  // --category adds to main; a package listed once per category is one package.
  auto dev =
      select_environment(*lock, {.platform = "linux-64", .categories = {"main", "dev", "test"}});
  ASSERT_TRUE(dev) << dev.error().to_string();
  EXPECT_EQ(names(dev->packages), (std::vector<std::string>{"zlib", "pytest"}));
  auto refused = select_environment(*lock, {.platform = "osx-64"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::Unsupported);
  EXPECT_TRUE(has(refused.error(), "requests 2.31.0 (line 47)")) << refused.error().to_string();
  // Only the platform's own pip entries count.
  EXPECT_TRUE(parse_lockfile(kCondaLock, "conda-lock.yml", "linux-64"));
  // Two different packages of one name in the selection are refused.
  std::string twice(kCondaLock);
  auto at = twice.find("pytest-8.0.0-pyh0_0.conda", twice.find("category: dev"));
  twice.replace(at, 25, "pytest-8.0.1-pyh0_0.conda");
  auto clash = parse_lockfile(twice, "conda-lock.yml",
                              {.platform = "linux-64", .categories = {"main", "dev", "test"}});
  ASSERT_FALSE(clash);
  EXPECT_TRUE(has(clash.error(), "package pytest is listed twice")) << clash.error().to_string();
}

TEST(LockModel, ExplicitFilesAreOneEnvironment) {
  std::string text = "# platform: linux-64\n@EXPLICIT\nhttps://h/c/linux-64/b-1-0.conda#" + kSha1 +
                     "\nhttps://h/c/linux-64/a-1-0.conda#" + kMd5 + "\n";
  auto lock = read_lock(text, "env.txt");
  ASSERT_TRUE(lock) << lock.error().to_string();
  EXPECT_EQ(lock->format, LockFormat::Explicit);
  ASSERT_EQ(lock->environments[0].platforms[0].packages.size(), 2u);
  auto selected = select_environment(*lock, {});
  ASSERT_TRUE(selected);
  EXPECT_EQ(names(selected->packages), (std::vector<std::string>{"b", "a"}));  // as written
  EXPECT_EQ(selected->platform, "linux-64");
  auto wrong = select_environment(*lock, {.platform = "osx-64"});
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(has(wrong.error(), "is a lock for linux-64"));
  auto env = select_environment(*lock, {.environment = "dev"});
  ASSERT_FALSE(env);
  EXPECT_TRUE(has(env.error(), "(the lock has: default)"));
  EXPECT_FALSE(looks_like_yaml_lock(text));
  EXPECT_TRUE(looks_like_yaml_lock(kPixiV6));
  EXPECT_TRUE(looks_like_yaml_lock(kCondaLock));
  EXPECT_FALSE(looks_like_yaml_lock("name: x\ndependencies: [python]\n"));
}

}  // namespace
}  // namespace de::conda
