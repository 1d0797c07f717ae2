#include "docker_envs/oci/layer_builder.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "docker_envs/oci/filesystem.hpp"
#include "support/testdata.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& p, std::string_view text) {
  std::ofstream(p, std::ios::binary) << text;
}

void set_mtime(const fs::path& p, std::int64_t seconds) {
  auto r =
      de::test::run_command("touch -h -d @" + std::to_string(seconds) + " '" + p.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
}

std::string tar_bytes(const Layer& layer) {
  auto in = layer.open_tar();
  EXPECT_TRUE(in) << in.error().to_string();
  if (!in) return {};
  auto all = read_all(**in, 1 << 30);
  EXPECT_TRUE(all) << all.error().to_string();
  return all ? *all : std::string();
}

// A small tree with a file, an executable, a nested dir, a symlink, a hardlink and an empty dir.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "bin");
  fs::create_directories(root / "lib" / "python3" / "site");
  fs::create_directories(root / "empty");
  write_text(root / "bin" / "tool", "#!/bin/sh\necho hi\n");
  fs::permissions(root / "bin" / "tool", fs::perms(0755));
  write_text(root / "lib" / "python3" / "site" / "mod.py", std::string(1500, 'p'));
  write_text(root / "lib" / "python3" / "site" / "mod.pyc", "compiled");
  write_text(root / "README", "readme\n");
  fs::permissions(root / "README", fs::perms(0600));
  fs::create_symlink("bin/tool", root / "tool-link");
  fs::create_symlink("/nonexistent/target", root / "dangling");
  fs::create_hard_link(root / "bin" / "tool", root / "lib" / "tool-hard");
}

std::map<std::string, TarEntry> by_path(const std::vector<TarEntry>& entries) {
  std::map<std::string, TarEntry> m;
  for (auto& e : entries) m[e.path] = e;
  return m;
}

TEST(LayerBuilder, TreeLayoutAndMetadata) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  make_tree(src);
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_directory(src, "/opt/app"));
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer) << layer.error().to_string();
  EXPECT_FALSE((*layer)->blob());
  EXPECT_FALSE((*layer)->diff_id());
  EXPECT_NE((*layer)->describe().find(src.string()), std::string::npos);

  std::string bytes = tar_bytes(**layer);
  ASSERT_TRUE((*layer)->tar_size());
  EXPECT_EQ(*(*layer)->tar_size(), bytes.size());

  auto entries = list_layer(**layer);
  ASSERT_TRUE(entries) << entries.error().to_string();
  std::vector<std::string> paths;
  for (auto& e : *entries) paths.push_back(e.path);
  std::vector<std::string> expected = {"opt",
                                       "opt/app",
                                       "opt/app/README",
                                       "opt/app/bin",
                                       "opt/app/bin/tool",
                                       "opt/app/dangling",
                                       "opt/app/empty",
                                       "opt/app/lib",
                                       "opt/app/lib/python3",
                                       "opt/app/lib/python3/site",
                                       "opt/app/lib/python3/site/mod.py",
                                       "opt/app/lib/python3/site/mod.pyc",
                                       "opt/app/lib/tool-hard",
                                       "opt/app/tool-link"};
  EXPECT_EQ(paths, expected);

  auto m = by_path(*entries);
  EXPECT_EQ(m["opt"].type, EntryType::Directory);
  EXPECT_EQ(m["opt"].mode, 0755u);
  EXPECT_EQ(m["opt"].mtime, 0);
  EXPECT_EQ(m["opt/app/README"].mode, 0600u);
  EXPECT_EQ(m["opt/app/bin/tool"].mode, 0755u);
  EXPECT_EQ(m["opt/app/bin/tool"].type, EntryType::File);
  EXPECT_EQ(m["opt/app/lib/tool-hard"].type, EntryType::Hardlink);
  EXPECT_EQ(m["opt/app/lib/tool-hard"].link_target, "opt/app/bin/tool");
  EXPECT_EQ(m["opt/app/tool-link"].type, EntryType::Symlink);
  EXPECT_EQ(m["opt/app/tool-link"].link_target, "bin/tool");
  EXPECT_EQ(m["opt/app/dangling"].link_target, "/nonexistent/target");
  for (auto& e : *entries) {
    EXPECT_EQ(e.uid, 0);
    EXPECT_EQ(e.gid, 0);
    EXPECT_EQ(e.uname, "");
    EXPECT_EQ(e.gname, "");
  }
}

TEST(LayerBuilder, ExtractedByGnuTarReproducesTree) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  make_tree(src);
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_directory(src, "/"));
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer);
  fs::path tarfile = tmp->path() / "layer.tar";
  ASSERT_TRUE(write_file_atomic(tarfile, tar_bytes(**layer)));
  fs::path out = tmp->path() / "out";
  fs::create_directories(out);
  auto r = de::test::run_command("tar -xpf '" + tarfile.string() + "' -C '" + out.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  // Same contents, modes and link structure (diff -r compares contents and symlink targets).
  r = de::test::run_command("diff -r --no-dereference '" + src.string() + "' '" + out.string() +
                            "'");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(fs::status(out / "bin" / "tool").permissions(), fs::perms(0755));
  EXPECT_EQ(fs::status(out / "README").permissions(), fs::perms(0600));
  EXPECT_TRUE(fs::is_symlink(out / "tool-link"));
  EXPECT_EQ(fs::read_symlink(out / "tool-link"), "bin/tool");
  EXPECT_TRUE(fs::equivalent(out / "bin" / "tool", out / "lib" / "tool-hard"));
  EXPECT_EQ(fs::hard_link_count(out / "bin" / "tool"), 2u);
  // GNU tar agrees with our listing.
  r = de::test::run_command("tar -tf '" + tarfile.string() + "' | head -3");
  EXPECT_EQ(r.out, "README\nbin/\nbin/tool\n");
}

TEST(LayerBuilder, DeterministicAcrossMtimesWithSourceDateEpoch) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path a = tmp->path() / "a", b = tmp->path() / "b";
  make_tree(a);
  make_tree(b);
  // Different mtimes in each tree, all after the clamp value.
  for (auto& item : fs::recursive_directory_iterator(a)) set_mtime(item.path(), 1800000000);
  for (auto& item : fs::recursive_directory_iterator(b)) set_mtime(item.path(), 1900000000);
  auto digest_of = [](const fs::path& root, std::optional<std::int64_t> epoch) {
    LayerBuilder builder({.source_date_epoch = epoch});
    EXPECT_TRUE(builder.add_directory(root, "/env"));
    auto layer = std::move(builder).build();
    EXPECT_TRUE(layer);
    return Digest::of(tar_bytes(**layer));
  };
  EXPECT_EQ(digest_of(a, std::nullopt), digest_of(a, std::nullopt));
  EXPECT_NE(digest_of(a, std::nullopt), digest_of(b, std::nullopt));
  EXPECT_EQ(digest_of(a, 1700000000), digest_of(b, 1700000000));

  LayerBuilder builder({.source_date_epoch = 1700000000});
  ASSERT_TRUE(builder.add_directory(a, "/env"));
  builder.add_contents("etc/extra", "x");
  auto layer = std::move(builder).build();
  auto entries = list_layer(**layer);
  ASSERT_TRUE(entries);
  for (auto& e : *entries) EXPECT_EQ(e.mtime, 1700000000) << e.path;
}

TEST(LayerBuilder, MtimesKeptWithoutEpochAndOlderOnesNotRaised) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  write_text(tmp->path() / "old", "o");
  set_mtime(tmp->path() / "old", 1000);
  LayerBuilder builder({.uid = 1000, .gid = 1001, .source_date_epoch = 5000});
  ASSERT_TRUE(builder.add_file(tmp->path() / "old", "/data/old"));
  auto layer = std::move(builder).build();
  auto m = by_path(*list_layer(**layer));
  EXPECT_EQ(m["data/old"].mtime, 1000);
  EXPECT_EQ(m["data/old"].uid, 1000);
  EXPECT_EQ(m["data/old"].gid, 1001);
  EXPECT_EQ(m["data"].mtime, 5000);
  EXPECT_EQ(m["data"].uid, 1000);
}

TEST(LayerBuilder, Excludes) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  make_tree(src);
  LayerBuilder builder({.excludes = {"*.pyc", "empty", "lib/python3/*"}});
  ASSERT_TRUE(builder.add_directory(src, "/"));
  auto layer = std::move(builder).build();
  auto entries = list_layer(**layer);
  ASSERT_TRUE(entries);
  auto m = by_path(*entries);
  EXPECT_FALSE(m.count("lib/python3/site/mod.pyc"));
  EXPECT_FALSE(m.count("empty"));
  EXPECT_TRUE(m.count("lib/python3"));
  EXPECT_FALSE(m.count("lib/python3/site"));  // excluded dir drops its subtree
  EXPECT_FALSE(m.count("lib/python3/site/mod.py"));
  EXPECT_TRUE(m.count("bin/tool"));

  LayerBuilder rooted({.excludes = {"/bin"}});
  ASSERT_TRUE(rooted.add_directory(src, "/"));
  auto m2 = by_path(*list_layer(**std::move(rooted).build()));
  EXPECT_FALSE(m2.count("bin"));
  EXPECT_FALSE(m2.count("bin/tool"));
  // The hardlink's first path is now lib/tool-hard: it carries the data.
  EXPECT_EQ(m2["lib/tool-hard"].type, EntryType::File);
}

TEST(LayerBuilder, InMemoryEntriesAndReplacement) {
  LayerBuilder builder({});
  builder.add_contents("/etc/motd", "first");
  builder.add_contents("etc/motd", "second", 0600);  // replaces
  builder.add_symlink("usr/bin/python", "python3.12");
  builder.add_directory_entry("var/cache", 0700);
  builder.add_contents("var/cache/x", "x");
  builder.add_directory_entry("gone");
  builder.add_contents("gone/child", "c");
  builder.add_contents("gone", "now a file");  // drops gone/child
  builder.add_contents("was-file", "f");
  builder.add_contents("was-file/inside", "i");  // was-file becomes a directory
  builder.add_contents("deep-file", "f");
  builder.add_contents("deep-file/a/b", "x");  // an ancestor two levels up becomes a directory
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer);
  auto entries = list_layer(**layer);
  ASSERT_TRUE(entries);
  std::vector<std::string> paths;
  for (auto& e : *entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"deep-file", "deep-file/a", "deep-file/a/b", "etc",
                                             "etc/motd", "gone", "usr", "usr/bin",
                                             "usr/bin/python", "var", "var/cache", "var/cache/x",
                                             "was-file", "was-file/inside"}));
  auto m = by_path(*entries);
  EXPECT_EQ(m["etc/motd"].size, 6u);
  EXPECT_EQ(m["etc/motd"].mode, 0600u);
  EXPECT_EQ(m["var/cache"].mode, 0700u);
  EXPECT_EQ(m["gone"].type, EntryType::File);
  EXPECT_EQ(m["was-file"].type, EntryType::Directory);
  EXPECT_EQ(m["usr/bin/python"].link_target, "python3.12");
  EXPECT_EQ(*(*layer)->tar_size(), tar_bytes(**layer).size());
}

TEST(LayerBuilder, RefusesPathsAboveRoot) {
  LayerBuilder builder({});
  builder.add_contents("../etc/passwd", "x");
  auto layer = std::move(builder).build();
  ASSERT_FALSE(layer);
  EXPECT_EQ(layer.error().code(), Code::Corruption);

  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  LayerBuilder b2({});
  EXPECT_FALSE(b2.add_directory(tmp->path(), "/a/../../b"));
  EXPECT_FALSE(b2.add_file(tmp->path() / "missing", "/x"));
}

TEST(LayerBuilder, TopLevelSymlinkFileStaysSymlink) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  write_text(tmp->path() / "real", "real");
  fs::create_symlink("real", tmp->path() / "link");
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_file(tmp->path() / "link", "/bin/link"));
  auto m = by_path(*list_layer(**std::move(builder).build()));
  EXPECT_EQ(m["bin/link"].type, EntryType::Symlink);
  EXPECT_EQ(m["bin/link"].link_target, "real");
}

TEST(LayerBuilder, SocketsSkipped) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path sock = tmp->path() / "s.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  write_text(tmp->path() / "f", "f");
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_directory(tmp->path(), "/"));
  auto m = by_path(*list_layer(**std::move(builder).build()));
  EXPECT_TRUE(m.count("f"));
  EXPECT_FALSE(m.count("s.sock"));
}

TEST(LayerBuilder, FileChangedSinceScanFails) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path f = tmp->path() / "grows";
  write_text(f, "abc");
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_file(f, "/grows"));
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer);
  // Read in big buffers (the end of the file is seen by asking for one byte more than is left)
  // and in 1-byte reads (by an extra read after the last byte).
  for (std::string now : {"abcdef", "abcd", "a"}) {
    write_text(f, now);
    for (size_t chunk : {size_t{1}, size_t{1} << 16}) {
      SCOPED_TRACE(now + " read in " + std::to_string(chunk));
      auto in = (*layer)->open_tar();
      ASSERT_TRUE(in);
      std::vector<std::byte> buf(chunk);
      Result<size_t> n = 0;
      do n = (*in)->read(buf);
      while (n && *n > 0);
      ASSERT_FALSE(n);
      EXPECT_NE(n.error().message().find(f.string()), std::string::npos) << n.error().message();
      EXPECT_NE(n.error().message().find("changed"), std::string::npos);
    }
  }
  write_text(f, "xyz");  // same size again: fine
  EXPECT_TRUE(read_all(**(*layer)->open_tar(), 1 << 20));
}

TEST(LayerBuilder, StreamsInSmallReadsAndOpensRepeatedly) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  make_tree(src);
  write_text(src / "big", std::string(300000, 'B'));
  LayerBuilder builder({});
  ASSERT_TRUE(builder.add_directory(src, "/"));
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer);
  std::string whole = tar_bytes(**layer);
  auto in = (*layer)->open_tar();
  ASSERT_TRUE(in);
  std::string pieces;
  std::byte buf[7];
  while (true) {
    auto n = (*in)->read(buf);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    pieces.append(reinterpret_cast<const char*>(buf), *n);
  }
  EXPECT_EQ(pieces, whole);
  EXPECT_EQ(*(*layer)->tar_size(), whole.size());
  StringWriter w;
  ASSERT_TRUE((*layer)->write_tar(w));
  EXPECT_EQ(w.str(), whole);
}

// add_directory() follows a top-level symlink to a directory; symlinks met inside the walk,
// to directories too, stay symlinks (entries are looked up relative to their directory).
TEST(LayerBuilder, WalkFollowsOnlyTheTopSymlink) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path real = tmp->path() / "real";
  make_tree(real);
  fs::create_directory_symlink("lib", real / "lib-link");
  fs::create_directory_symlink(real, tmp->path() / "top-link");
  LayerBuilder via_link({}), direct({});
  ASSERT_TRUE(via_link.add_directory(tmp->path() / "top-link", "/"));
  ASSERT_TRUE(direct.add_directory(real, "/"));
  auto a = std::move(via_link).build();
  auto b = std::move(direct).build();
  ASSERT_TRUE(a && b);
  auto m = by_path(*list_layer(**a));
  ASSERT_TRUE(m.count("lib-link"));
  EXPECT_EQ(m["lib-link"].type, EntryType::Symlink);
  EXPECT_EQ(m["lib-link"].link_target, "lib");
  EXPECT_FALSE(m.count("lib-link/tool-hard"));
  EXPECT_TRUE(m.count("lib/python3/site/mod.py"));
  EXPECT_EQ(tar_bytes(**a), tar_bytes(**b));
}

}  // namespace
}  // namespace de::oci
