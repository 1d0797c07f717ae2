// End-to-end: `docker-envs env install` on packages the test builds itself.
#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "docker_envs/conda/package.hpp"
#include "support/fake_http_server.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

TEST(EnvInstallCli, LaysOutPackagesUnderRoot) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  test::PackageSpec spec;
  spec.name = "hello";
  test::Entry script =
      test::file("bin/hello", "#!/opt/anaconda1anaconda2anaconda3/bin/sh\necho hi\n", 0755);
  script.placeholder = "/opt/anaconda1anaconda2anaconda3";
  spec.payload = {script};
  auto pkg = test::build_package(dir->path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  auto root = dir->path() / "root";
  auto r = de::test::run_command(fmt::format(
      "SOURCE_DATE_EPOCH=0 {} env install --root {} --cache {} {}", de::test::cli_path().string(),
      root.string(), (dir->path() / "cache").string(), pkg->string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(*read_file(root / "opt/conda/bin/hello"), "#!/opt/conda/bin/sh\necho hi\n");
  EXPECT_TRUE(fs::exists(root / "opt/conda/conda-meta/hello-1.0-0.json"));
  EXPECT_TRUE(fs::exists(root / "opt/conda/conda-meta/history"));

  // Without --root the prefix is a host directory; scripts point into it.
  auto host = dir->path() / "env";
  auto h = de::test::run_command(fmt::format("{} env install --prefix {} --cache {} {}",
                                             de::test::cli_path().string(), host.string(),
                                             (dir->path() / "cache").string(), pkg->string()));
  ASSERT_EQ(h.status, 0) << h.err;
  EXPECT_EQ(*read_file(host / "bin/hello"), "#!" + host.string() + "/bin/sh\necho hi\n");

  auto bad = de::test::run_command(fmt::format(
      "{} env install --root {} --cache {} --prefix relative {}", de::test::cli_path().string(),
      root.string(), (dir->path() / "cache").string(), pkg->string()));
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("absolute"), std::string::npos) << bad.err;
}

// Two packages (app depends on lib) built in `dir`, as records with file:// URLs and hashes.
std::vector<PackageRecord> two_packages(const fs::path& dir) {
  std::vector<PackageRecord> out;
  for (const char* name : {"lib", "app"}) {
    test::PackageSpec spec;
    spec.name = name;
    if (std::string_view(name) == "app") spec.depends = {"lib >=1.0"};
    spec.payload = {test::file(std::string("share/") + name + ".txt", std::string(name) + "\n")};
    auto pkg = test::build_package(dir, spec, PackageFormat::Conda);
    EXPECT_TRUE(pkg);
    fs::create_directories(dir / "chan/linux-64");
    fs::path placed = dir / "chan/linux-64" / pkg->filename();
    fs::rename(*pkg, placed);
    auto r = record_from_url(path_to_file_url(placed));
    EXPECT_TRUE(r);
    auto h = hash_package_file(placed);
    r->sha256 = h->sha256;
    r->md5 = h->md5;
    r->depends = spec.depends;
    out.push_back(*r);
  }
  return out;
}

std::string cli() { return de::test::cli_path().string(); }

TEST(EnvInstallCli, InstallsAnExplicitLock) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto records = two_packages(dir->path());
  auto text = write_explicit(records, "linux-64");
  ASSERT_TRUE(text);
  ASSERT_TRUE(write_file_atomic(dir->path() / "env.txt", *text));
  auto root = dir->path() / "root";
  auto r = de::test::run_command(fmt::format("{} env install {} --root {} --cache {}", cli(),
                                             (dir->path() / "env.txt").string(), root.string(),
                                             (dir->path() / "cache").string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(*read_file(root / "opt/conda/share/app.txt"), "app\n");
  EXPECT_EQ(*read_file(root / "opt/conda/share/lib.txt"), "lib\n");
  EXPECT_TRUE(fs::exists(root / "opt/conda/conda-meta/app-1.0-0.json"));

  auto wrong = de::test::run_command(
      fmt::format("{} env install {} --root {} --cache {} --platform osx-arm64", cli(),
                  (dir->path() / "env.txt").string(), (dir->path() / "r2").string(),
                  (dir->path() / "cache").string()));
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.err.find("is a lock for linux-64"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(dir->path() / "r2/opt/conda"));

  // A hash that does not match refuses the package, naming it, and installs nothing.
  auto bad = records;
  bad[1].sha256 = Digest::from_hex(std::string(64, 'a')).value();
  ASSERT_TRUE(write_file_atomic(dir->path() / "bad.txt", *write_explicit(bad, "linux-64")));
  auto refused = de::test::run_command(fmt::format(
      "{} env install {} --root {} --cache {}", cli(), (dir->path() / "bad.txt").string(),
      (dir->path() / "r3").string(), (dir->path() / "cache2").string()));
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("app-1.0-0.conda"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir->path() / "r3/opt/conda"));
}

TEST(EnvInstallCli, InstallsACondaLockOverHttpWithAToken) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto records = two_packages(dir->path());
  de::test::FakeHttpServer server([&](const de::test::HttpRequest& req) {
    const std::string prefix = "/t/tok-secret-7/chan/linux-64/";
    if (!req.target.starts_with(prefix)) return de::test::HttpResponse{.status = 403};
    auto body = read_file(dir->path() / "chan/linux-64" / req.target.substr(prefix.size()));
    if (!body) return de::test::HttpResponse{.status = 404};
    return de::test::HttpResponse{.body = *body};
  });
  std::string base = "http://" + server.host() + "/t/tok-secret-7/chan";
  for (auto& r : records) r.url = base + "/linux-64/" + r.fn;
  // Listed dependents first: the reader orders them.
  std::vector<PackageRecord> shuffled = {records[1], records[0]};
  auto text =
      write_conda_lock(shuffled, {.platform = "linux-64", .channels = {base}, .content_hash = "x"});
  ASSERT_TRUE(text);
  ASSERT_TRUE(write_file_atomic(dir->path() / "conda-lock.yml", *text));
  auto root = dir->path() / "root";
  auto r = de::test::run_command(fmt::format(
      "{} env install {} --root {} --cache {} --platform linux-64", cli(),
      (dir->path() / "conda-lock.yml").string(), root.string(), (dir->path() / "cache").string()));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(*read_file(root / "opt/conda/share/app.txt"), "app\n");
  EXPECT_EQ(r.err.find("tok-secret-7"), std::string::npos) << r.err;
  // The conda-meta history lists lib before app (install order).
  auto history = read_file(root / "opt/conda/conda-meta/history");
  ASSERT_TRUE(history);
  EXPECT_LT(history->find("lib-1.0-0"), history->find("app-1.0-0")) << *history;

  // A package the server does not have: the error names the redacted URL, never the token.
  auto missing = records;
  missing[0].url = base + "/linux-64/gone-1.0-0.conda";
  missing[0].name = "gone";
  missing[0].fn = "gone-1.0-0.conda";
  ASSERT_TRUE(write_file_atomic(dir->path() / "missing.yml",
                                *write_conda_lock(missing, {.platform = "linux-64"})));
  auto m = de::test::run_command(fmt::format(
      "{} env install {} --root {} --cache {}", cli(), (dir->path() / "missing.yml").string(),
      (dir->path() / "r2").string(), (dir->path() / "cache").string()));
  EXPECT_EQ(m.status, 1);
  EXPECT_NE(m.err.find("/t/***/chan/linux-64/gone-1.0-0.conda"), std::string::npos) << m.err;
  EXPECT_EQ(m.err.find("tok-secret-7"), std::string::npos) << m.err;
}

TEST(EnvInstallCli, RealCondaLockPlatformChoice) {
  DE_REQUIRE_TESTDATA();
  // A lock for three platforms: without --platform linux-64 is taken; an absent one is refused
  // before anything is downloaded.
  auto file = de::test::testdata_dir() / "env-files/mamba/test-env-lock.yaml";
  auto dir = TempDir::create();
  auto r = de::test::run_command(fmt::format("{} env install {} --root {} --platform linux-aarch64",
                                             cli(), file.string(), (dir->path() / "r").string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no packages for platform linux-aarch64"), std::string::npos) << r.err;
  auto pip = de::test::run_command(
      fmt::format("{} env install {} --root {}", cli(),
                  (de::test::testdata_dir() / "env-files/mamba/test-env-pip-lock.yaml").string(),
                  (dir->path() / "r").string()));
  // Its pip entries are installed now, but one of them is an sdist (Checkm-0.4.tar.gz): refused
  // before anything is installed, naming the package and the lock line.
  EXPECT_EQ(pip.status, 1);
  EXPECT_NE(pip.err.find("pypi package checkm is a source distribution"), std::string::npos) << pip.err;
  EXPECT_NE(pip.err.find("test-env-pip-lock.yaml:"), std::string::npos) << pip.err;
  EXPECT_FALSE(std::filesystem::exists(dir->path() / "r")) << pip.err;
}

}  // namespace
}  // namespace de::conda
