// End-to-end: `docker-envs env install` on hostile packages (issue 13 items 1 and 11).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "docker_envs/base/io.hpp"
#include "hostile_packages.hpp"
#include "support/testdata.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

// Every regular file below `root` whose content is the host secret's.
std::vector<fs::path> copies_of(const fs::path& root, const std::string& content) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file() && !it->is_symlink() && read_file(it->path()).value_or("") == content)
      out.push_back(it->path());
  return out;
}

TEST(HostileInstallCli, ALinkedHostFileIsNeitherLinkedNorCopied) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto secret = test::host_secret(dir->path());
  std::string content = *read_file(secret);
  std::string listed = "share/lnk" + secret.string();
  auto pkg = test::build_link_escape(dir->path(), test::ListedVia::PathsJson, "/", listed);
  ASSERT_TRUE(pkg);
  for (std::string link : {"hardlink", "copy"}) {
    SCOPED_TRACE(link);
    auto root = dir->path() / ("root-" + link);
    auto r = de::test::run_command(fmt::format("{} env install --link {} --root {} --cache {} {}",
                                               de::test::cli_path().string(), link, root.string(),
                                               (dir->path() / "cache").string(), pkg->string()));
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("evil-1.0-0"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(listed), std::string::npos) << r.err;
    EXPECT_EQ(test::link_count(secret), 1u);
    EXPECT_TRUE(copies_of(root, content).empty());
  }
}

// A lock entry naming a FIFO, or the FIFO as the lock file itself, fails at once (issue 13 item
// 6); `timeout` turns a regression into a failure instead of a hang.
TEST(HostileInstallCli, AFifoInputFailsAtOnce) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto fifo = dir->path() / "fifo-1.0-0.conda";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto lock = dir->path() / "explicit.txt";
  ASSERT_TRUE(write_file_atomic(lock, "@EXPLICIT\nfile://" + fifo.string() + "\n"));
  auto fifo_lock = dir->path() / "lock.txt";
  ASSERT_EQ(::mkfifo(fifo_lock.c_str(), 0644), 0);
  for (const auto& input : {lock, fifo_lock}) {
    auto r = de::test::run_command(fmt::format(
        "timeout 20 {} env install --root {} --cache {} {}", de::test::cli_path().string(),
        (dir->path() / "root").string(), (dir->path() / "cache").string(), input.string()));
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
  }
}

// A failure midway (here a path conflict with what ROOT holds) leaves nothing in ROOT that was not
// there before (issue 13 item 11).
TEST(HostileInstallCli, AFailedInstallLeavesRootAsItWas) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  test::PackageSpec spec;
  spec.name = "clash";
  spec.payload = {test::file("bin/a", "a"), test::file("lib/b", "b"), test::file("share/x", "x")};
  auto pkg = test::build_package(dir->path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  auto root = dir->path() / "root";
  fs::create_directories(root / "opt/conda/share/x");
  ASSERT_TRUE(write_file_atomic(root / "opt/conda/share/x/mine", "mine"));
  auto r = de::test::run_command(fmt::format("{} env install --root {} --cache {} {}",
                                             de::test::cli_path().string(), root.string(),
                                             (dir->path() / "cache").string(), pkg->string()));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("share/x"), std::string::npos) << r.err;
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(root))
    left.push_back(e.path().lexically_relative(root).generic_string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"opt", "opt/conda", "opt/conda/share",
                                            "opt/conda/share/x", "opt/conda/share/x/mine"}));
}

}  // namespace
}  // namespace de::conda
