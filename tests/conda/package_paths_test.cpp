// Listed paths inside an extracted package are resolved without following links (issue 13 item 1).
#include "conda/package_paths.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/installer.hpp"
#include "hostile_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using detail::PackageDir;

class PackagePathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_.emplace(std::move(*d));
    pkg_ = dir_->path() / "pkg";
    secret_ = test::host_secret(dir_->path());
    fs::create_directories(pkg_ / "share/real");
    ASSERT_TRUE(write_file_atomic(pkg_ / "share/real/a.txt", "a"));
    fs::create_symlink("/", pkg_ / "share/abs");
    fs::create_symlink("../../host", pkg_ / "share/rel");
    fs::create_symlink("real", pkg_ / "share/inside");  // even a link inside the package
    fs::create_symlink("real/a.txt", pkg_ / "share/a-link");
  }
  std::optional<TempDir> dir_;
  fs::path pkg_, secret_;
};

TEST_F(PackagePathsTest, ResolvesFilesAndReportsLinksAsLinks) {
  auto pkg = PackageDir::open(pkg_, "evil-1.0-0");
  ASSERT_TRUE(pkg) << pkg.error().to_string();
  auto st = pkg->lstat("share/real/a.txt");
  ASSERT_TRUE(st && *st);
  EXPECT_TRUE(S_ISREG((*st)->st_mode));
  st = pkg->lstat("share/a-link");
  ASSERT_TRUE(st && *st);
  EXPECT_TRUE(S_ISLNK((*st)->st_mode));
  EXPECT_EQ(*pkg->read_link("share/a-link"), "real/a.txt");
  EXPECT_EQ(**pkg->read_file("share/real/a.txt"), "a");
  auto missing = pkg->lstat("share/real/none");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(*pkg->lstat("share/real/a.txt/below"));  // ENOTDIR: missing, as lstat says
  EXPECT_FALSE(*pkg->read_file("info/none.json"));
  // The last component is never followed.
  auto link = pkg->open_file("share/a-link");
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().to_string().find("symlink"), std::string::npos);
}

TEST_F(PackagePathsTest, RefusesEveryPathBelowALink) {
  auto pkg = PackageDir::open(pkg_, "evil-1.0-0");
  ASSERT_TRUE(pkg);
  std::string abs = "share/abs" + secret_.string();
  for (std::string rel :
       {abs, std::string("share/rel/secret"), std::string("share/inside/a.txt")}) {
    SCOPED_TRACE(rel);
    auto st = pkg->lstat(rel);
    ASSERT_FALSE(st);
    std::string msg = st.error().to_string();
    EXPECT_NE(msg.find("evil-1.0-0"), std::string::npos) << msg;
    EXPECT_NE(msg.find(rel), std::string::npos) << msg;
    EXPECT_NE(msg.find("symlink 'share/"), std::string::npos) << msg;
    EXPECT_FALSE(pkg->open_file(rel));
    EXPECT_FALSE(pkg->read_file(rel));
    EXPECT_FALSE(pkg->read_link(rel));
  }
  EXPECT_FALSE(pkg->lstat("share/../../host/secret"));
  EXPECT_FALSE(pkg->lstat("/etc/hostname"));
}

TEST_F(PackagePathsTest, BothResolversRefuseLinksOnTheWay) {
  int dirfd = ::open(pkg_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  for (auto* resolve : {&detail::open_dir_beneath, &detail::open_dir_beneath_by_component}) {
    int fd = resolve(dirfd, "share/real");
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
    for (const char* rel : {"share/abs/etc", "share/rel", "share/inside", "share/abs"}) {
      SCOPED_TRACE(rel);
      errno = 0;
      EXPECT_EQ(resolve(dirfd, rel), -1);
      EXPECT_EQ(errno, ELOOP);
    }
    errno = 0;
    EXPECT_EQ(resolve(dirfd, "share/none"), -1);
    EXPECT_EQ(errno, ENOENT);
    errno = 0;
    EXPECT_EQ(resolve(dirfd, "share/real/a.txt"), -1);
    EXPECT_EQ(errno, ENOTDIR);
  }
  ::close(dirfd);
}

TEST_F(PackagePathsTest, OnlyRegularFilesAreOpened) {
  ASSERT_EQ(::mkfifo((pkg_ / "share/real/fifo").c_str(), 0644), 0);
  auto pkg = PackageDir::open(pkg_, "evil-1.0-0");
  ASSERT_TRUE(pkg);
  auto fifo = pkg->read_file("share/real/fifo");  // returns at once: no writer is waited for
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().to_string().find("not a regular file"), std::string::npos);
}

// The installer: a listed path below an unlisted payload link is refused, whichever file list
// names it, and the host file is neither linked nor copied.
struct Variant {
  test::ListedVia via;
  bool absolute;  // share/lnk -> "/" or -> "../../host"
};

class LinkEscape : public ::testing::TestWithParam<Variant> {};

TEST_P(LinkEscape, IsRefusedNamingThePackageAndPath) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto secret = test::host_secret(dir->path());
  const Variant v = GetParam();
  std::string listed = v.absolute ? "share/lnk" + secret.string() : "share/lnk/secret";
  // x-evil/share/lnk -> ../../host is <dir>/host.
  auto built = test::build_link_escape(dir->path(), v.via, v.absolute ? "/" : "../../host", listed);
  ASSERT_TRUE(built) << built.error().to_string();
  auto extracted = dir->path() / "x-evil";
  ASSERT_TRUE(extract_package(*built, extracted));
  ASSERT_TRUE(fs::is_symlink(extracted / "share/lnk"));
  ASSERT_TRUE(fs::exists(extracted / listed));  // the host file, seen through the link

  PackageToInstall p{extracted, {}, ""};
  auto plan = plan_environment(std::span(&p, 1), {.threads = 1});
  ASSERT_FALSE(plan) << "planned " << plan->entries.size() << " entries";
  std::string msg = plan.error().to_string();
  EXPECT_NE(msg.find("evil-1.0-0"), std::string::npos) << msg;
  EXPECT_NE(msg.find(listed), std::string::npos) << msg;
  EXPECT_NE(msg.find("symlink 'share/lnk'"), std::string::npos) << msg;
  EXPECT_EQ(test::link_count(secret), 1u);
}

std::string variant_name(const ::testing::TestParamInfo<Variant>& param) {
  static const char* const kVia[] = {"PathsJson", "InfoFiles", "HasPrefix"};
  return std::string(kVia[static_cast<int>(param.param.via)]) +
         (param.param.absolute ? "Root" : "Relative");
}

INSTANTIATE_TEST_SUITE_P(Variants, LinkEscape,
                         ::testing::Values(Variant{test::ListedVia::PathsJson, true},
                                           Variant{test::ListedVia::PathsJson, false},
                                           Variant{test::ListedVia::InfoFiles, true},
                                           Variant{test::ListedVia::InfoFiles, false},
                                           Variant{test::ListedVia::HasPrefix, true},
                                           Variant{test::ListedVia::HasPrefix, false}),
                         variant_name);

// A package's own metadata is read through the same resolver: info/ as a link is refused.
TEST(PackageMetadata, InfoBehindALinkIsRefused) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto pkg = dir->path() / "x-evil";
  fs::create_directories(pkg);
  fs::create_directories(dir->path() / "host/info");
  ASSERT_TRUE(write_file_atomic(dir->path() / "host/info/index.json",
                                R"({"name":"evil","version":"1","build":"0"})"));
  fs::create_symlink("../host/info", pkg / "info");
  PackageToInstall p{pkg, {}, ""};
  auto plan = plan_environment(std::span(&p, 1), {.threads = 1});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().to_string().find("symlink 'info'"), std::string::npos)
      << plan.error().to_string();
}

}  // namespace
}  // namespace de::conda
