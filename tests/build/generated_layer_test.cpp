// The two producers of new layers (oci::LayerBuilder for host files and in-memory contents,
// build::entries_layer for an environment's files) generate their tars through one code path:
// the same entries give the same bytes through both, and the bytes are those the two separate
// implementations produced before they were merged (the digests below were recorded then; a
// change to them changes every cached layer and every image digest).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "docker_envs/base/io.hpp"
#include "docker_envs/build/entries_layer.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "support/layer_bytes.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
using conda::InstallEntry;

using de::test::tar_bytes;

void write_text(const fs::path& p, std::string_view text, fs::perms mode) {
  std::ofstream(p, std::ios::binary) << text;
  fs::permissions(p, mode);
}

InstallEntry bytes_file(std::string path, std::string data, std::uint32_t mode = 0644) {
  InstallEntry e;
  e.path = std::move(path);
  e.source = InstallEntry::Source::Bytes;
  e.size = data.size();
  e.data = std::move(data);
  e.mode = mode;
  e.package = "pkg-1-0";
  return e;
}

InstallEntry other(InstallEntry::Type type, std::string path, std::string target,
                   std::uint32_t mode) {
  InstallEntry e;
  e.type = type;
  e.path = std::move(path);
  e.link_target = std::move(target);
  e.mode = mode;
  e.package = "pkg-1-0";
  return e;
}

TEST(GeneratedLayer, SameEntriesSameBytesThroughBothProducers) {
  // Files, a symlink and a directory under a prefix, owned by root, one mtime.
  oci::LayerBuilder builder({.source_date_epoch = 1700000000});
  builder.add_contents("opt/conda/bin/tool", "#!/bin/sh\necho hi\n", 0755);
  builder.add_contents("opt/conda/share/data.txt", std::string(1500, 'd'));
  builder.add_symlink("opt/conda/bin/tool-link", "tool");
  builder.add_directory_entry("opt/conda/empty", 0700);
  auto built = std::move(builder).build();
  ASSERT_TRUE(built) << built.error().to_string();

  std::vector<InstallEntry> entries = {
      bytes_file("opt/conda/share/data.txt", std::string(1500, 'd')),
      bytes_file("opt/conda/bin/tool", "#!/bin/sh\necho hi\n", 0755),
      other(InstallEntry::Type::Symlink, "opt/conda/bin/tool-link", "tool", 0777),
      other(InstallEntry::Type::Directory, "opt/conda/empty", "", 0700),
  };
  auto layer = entries_layer(entries, {.prefix = "/opt/conda", .mtime = 1700000000});
  ASSERT_TRUE(layer) << layer.error().to_string();

  std::string a = tar_bytes(**built), b = tar_bytes(**layer);
  EXPECT_EQ(a.size(), (*built)->tar_size());
  EXPECT_EQ(b.size(), (*layer)->tar_size());
  EXPECT_EQ(a, b);
  EXPECT_EQ(Digest::of(a).to_string(),
            "sha256:9edcc35a80d98ea8da2b2951d32bc6d3782ff119196f7380e2ab516c20f2039b");
}

TEST(GeneratedLayer, LayerBuilderBytesAreUnchanged) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = dir->path() / "tree";
  fs::create_directories(root / "bin");
  fs::create_directories(root / "lib/deep");
  write_text(root / "bin/tool", "#!/bin/sh\necho tool\n", fs::perms(0755));
  write_text(root / "lib/deep/data.bin", std::string(4097, '\1'), fs::perms(0644));
  write_text(root / "README", "readme\n", fs::perms(0600));
  fs::create_hard_link(root / "bin/tool", root / "lib/tool-hard");
  fs::create_symlink("bin/tool", root / "tool-link");
  for (const char* d : {"", "bin", "lib", "lib/deep"}) fs::permissions(root / d, fs::perms(0755));

  oci::LayerBuilder builder({.uid = 1000, .gid = 100, .source_date_epoch = 1700000000});
  ASSERT_TRUE(builder.add_directory(root, "/app/"));
  builder.add_contents("etc/app.conf", "x=1\n");
  auto built = std::move(builder).build();
  ASSERT_TRUE(built) << built.error().to_string();
  std::string bytes = tar_bytes(**built);
  EXPECT_EQ(bytes.size(), (*built)->tar_size());
  EXPECT_EQ(Digest::of(bytes).to_string(),
            "sha256:fba23d7f03edf3e943741bd37bc287078c25ee4543e20c532c0e7b6e116fa6e7");
}

TEST(GeneratedLayer, EntriesLayerBytesAreUnchanged) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  write_text(dir->path() / "host.so", std::string(700, 'h'), fs::perms(0644));
  InstallEntry host;
  host.path = "opt/env/lib/libz.so.1";
  host.source = InstallEntry::Source::HostFile;
  host.host_path = (dir->path() / "host.so").native();
  host.size = 700;
  host.mode = 0755;
  host.package = "zlib-1-0";
  std::vector<InstallEntry> entries = {
      host,
      // A hardlink to an earlier path stays a link; one to a later path is written as a copy.
      other(InstallEntry::Type::Hardlink, "opt/env/lib/libz.so", "opt/env/lib/libz.so.1", 0755),
      other(InstallEntry::Type::Hardlink, "opt/env/a-copy", "opt/env/lib/libz.so.1", 0644),
      bytes_file("opt/env/bin/run", "#!/bin/sh\n", 0755),
      other(InstallEntry::Type::Symlink, "opt/env/bin/run2", "run", 0777),
      other(InstallEntry::Type::Directory, "opt/env/var/empty", "", 0755),
  };
  auto layer = entries_layer(
      entries, {.prefix = "/opt/env", .owner = {.uid = 1000, .gid = 1000}, .mtime = 1700000000});
  ASSERT_TRUE(layer) << layer.error().to_string();
  std::string bytes = tar_bytes(**layer);
  EXPECT_EQ(bytes.size(), (*layer)->tar_size());
  EXPECT_EQ(Digest::of(bytes).to_string(),
            "sha256:92ff1cf55a3f50e91ae979d3e973c4f0bae68b8a0173cd27c89db2e27ab7fc14");
}

}  // namespace
}  // namespace de::build
