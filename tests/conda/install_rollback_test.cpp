// A failed write_to_directory() leaves ROOT as it found it (issue 13 item 11).
#include <gtest/gtest.h>

#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    out.insert(it->path().lexically_relative(root).generic_string());
  return out;
}

InstallEntry bytes(std::string path, std::string data) {
  InstallEntry e;
  e.path = std::move(path);
  e.source = InstallEntry::Source::Bytes;
  e.size = data.size();
  e.data = std::move(data);
  e.package = "p-1-0";
  return e;
}

// Files, a symlink and a directory are written, then a hardlink to a missing file fails.
InstallPlan plan_failing_at_the_end() {
  InstallPlan plan;
  for (int i = 0; i < 100; ++i)  // enough to use several threads
    plan.entries.push_back(bytes("opt/conda/share/p/f" + std::to_string(i), "x"));
  auto entry = [](std::string path, InstallEntry::Type type, std::string target) {
    InstallEntry e;
    e.path = std::move(path);
    e.type = type;
    e.link_target = std::move(target);
    return e;
  };
  plan.entries.push_back(entry("opt/conda/lib/libp.so", InstallEntry::Type::Symlink, "libp.so.1"));
  plan.entries.push_back(entry("opt/conda/var/empty", InstallEntry::Type::Directory, ""));
  plan.entries.push_back(
      entry("opt/conda/bin/h", InstallEntry::Type::Hardlink, "opt/conda/not/there"));
  return plan;
}

TEST(InstallRollback, AFailureRemovesEverythingItCreated) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto root = dir->path() / "root";
  fs::create_directories(root / "opt/other");
  ASSERT_TRUE(write_file_atomic(root / "keep.txt", "mine"));
  ASSERT_TRUE(write_file_atomic(root / "opt/other/keep", "mine"));
  auto before = tree(root);
  for (auto link : {LinkMode::Copy, LinkMode::Hardlink}) {
    auto st = write_to_directory(plan_failing_at_the_end(), root, "/opt/conda",
                                 {.link = link, .threads = 4});
    ASSERT_FALSE(st);
    EXPECT_EQ(tree(root), before);
  }

  // A ROOT that did not exist is gone again, with the parents the call made for it.
  auto fresh = dir->path() / "new/deeper/root";
  ASSERT_FALSE(write_to_directory(plan_failing_at_the_end(), fresh, "/opt/conda"));
  EXPECT_FALSE(fs::exists(dir->path() / "new"));
}

TEST(InstallRollback, APathConflictMidwayLeavesNothing) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto root = dir->path() / "root";
  fs::create_directories(root / "opt/conda/share/x/sub");  // the plan's file share/x is here
  auto before = tree(root);
  InstallPlan plan;
  plan.entries = {bytes("opt/conda/bin/a", "a"), bytes("opt/conda/etc/b/c", "c"),
                  bytes("opt/conda/share/x", "conflict"), bytes("opt/conda/zz", "z")};
  auto st = write_to_directory(plan, root, "/opt/conda");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("share/x"), std::string::npos);
  EXPECT_EQ(tree(root), before);
}

}  // namespace
}  // namespace de::conda
