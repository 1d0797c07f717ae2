#include "docker_envs/oci/filesystem.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "docker_envs/oci/layer_blob.hpp"
#include "docker_envs/oci/layer_builder.hpp"
#include "docker_envs/oci/media_types.hpp"
#include "support/testdata.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;

// A layer over tar bytes already in memory (as read from a file).
class BytesLayer final : public Layer {
 public:
  explicit BytesLayer(std::string tar) : tar_(std::move(tar)) {}
  std::optional<Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return std::nullopt; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "no blob");
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(tar_));
  }
  std::string describe() const override { return "test layer"; }

 private:
  std::string tar_;
};

struct Spec {
  enum Kind { File, Dir, Link } kind;
  std::string path;
  std::string data;
};

LayerPtr make_layer(const std::vector<Spec>& specs) {
  LayerBuilder builder({});
  for (auto& s : specs) {
    switch (s.kind) {
      case Spec::File:
        builder.add_contents(s.path, s.data);
        break;
      case Spec::Dir:
        builder.add_directory_entry(s.path);
        break;
      case Spec::Link:
        builder.add_symlink(s.path, s.data);
        break;
    }
  }
  auto layer = std::move(builder).build();
  EXPECT_TRUE(layer) << layer.error().to_string();
  return *layer;
}

std::vector<std::string> merged_paths(const std::vector<LayerPtr>& layers) {
  auto merged = merged_filesystem(layers);
  EXPECT_TRUE(merged) << merged.error().to_string();
  std::vector<std::string> out;
  if (merged)
    for (auto& e : *merged) out.push_back(e.path + (e.type == EntryType::Directory ? "/" : ""));
  return out;
}

using Paths = std::vector<std::string>;

TEST(FilesystemMerge, LaterLayersOverride) {
  auto lower = make_layer({{Spec::File, "etc/conf", "old"}, {Spec::File, "bin/a", "a"}});
  auto upper = make_layer({{Spec::File, "etc/conf", "newer"}, {Spec::Link, "bin/b", "a"}});
  auto merged = merged_filesystem({lower, upper});
  ASSERT_TRUE(merged);
  ASSERT_EQ(merged->size(), 5u);
  EXPECT_EQ((*merged)[4].path, "etc/conf");
  EXPECT_EQ((*merged)[4].size, 5u);
  EXPECT_EQ(merged_paths({lower, upper}), (Paths{"bin/", "bin/a", "bin/b", "etc/", "etc/conf"}));
}

TEST(FilesystemMerge, WhiteoutDeletesFileAndSubtree) {
  auto lower = make_layer({{Spec::File, "a/keep", ""},
                           {Spec::File, "a/gone", ""},
                           {Spec::File, "d/x/y", ""},
                           {Spec::File, "d/z", ""},
                           {Spec::File, "top", ""}});
  auto upper = make_layer({{Spec::File, "a/.wh.gone", ""},
                           {Spec::File, "d/.wh.x", ""},
                           {Spec::File, ".wh.top", ""},
                           {Spec::File, ".wh.never-existed", ""}});
  EXPECT_EQ(merged_paths({lower, upper}), (Paths{"a/", "a/keep", "d/", "d/z"}));
}

TEST(FilesystemMerge, OpaqueDirectoryHidesLowerContentsOnly) {
  auto lower = make_layer({{Spec::File, "opt/env/old1", ""},
                           {Spec::File, "opt/env/sub/old2", ""},
                           {Spec::File, "opt/other", ""}});
  auto upper =
      make_layer({{Spec::File, "opt/env/.wh..wh..opq", ""}, {Spec::File, "opt/env/new", ""}});
  EXPECT_EQ(merged_paths({lower, upper}), (Paths{"opt/", "opt/env/", "opt/env/new", "opt/other"}));
}

TEST(FilesystemMerge, WhiteoutDoesNotActOnItsOwnLayer) {
  // Re-created in the same layer as its whiteout (as kaniko writes it): the new one stays.
  auto lower = make_layer({{Spec::File, "a/old", ""}});
  auto upper = make_layer({{Spec::File, ".wh.a", ""}, {Spec::File, "a/new", ""}});
  EXPECT_EQ(merged_paths({lower, upper}), (Paths{"a/", "a/new"}));
  auto third = make_layer({{Spec::File, "a/.wh..wh..opq", ""}, {Spec::File, "a/newest", ""}});
  EXPECT_EQ(merged_paths({lower, upper, third}), (Paths{"a/", "a/newest"}));
}

TEST(FilesystemMerge, TypeChangesReplaceSubtrees) {
  auto lower = make_layer({{Spec::File, "x/deep/file", ""}, {Spec::File, "y", "file"}});
  auto upper = make_layer({{Spec::Link, "x", "elsewhere"}, {Spec::File, "y/inside", ""}});
  auto merged = merged_filesystem({lower, upper});
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged_paths({lower, upper}), (Paths{"x", "y/", "y/inside"}));
  EXPECT_EQ((*merged)[0].type, EntryType::Symlink);
}

TEST(FilesystemMerge, EmptyAndListLayerKeepsWhiteouts) {
  EXPECT_TRUE(merged_paths({}).empty());
  auto layer = make_layer({{Spec::File, "a/.wh.b", ""}});
  auto entries = list_layer(*layer);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].path, "a/.wh.b");
}

TEST(FilesystemMerge, CorruptLayerFailsWithContext) {
  std::string tar(1024, 'x');
  auto merged = merged_filesystem({std::make_shared<BytesLayer>(tar)});
  ASSERT_FALSE(merged);
  EXPECT_EQ(merged.error().code(), Code::Corruption);
  EXPECT_NE(merged.error().to_string().find("test layer"), std::string::npos)
      << merged.error().to_string();
}

TEST(FilesystemFormat, LikeTarTv) {
  TarEntry f;
  f.path = "usr/bin/tool";
  f.type = EntryType::File;
  f.mode = 0755;
  f.size = 1234;
  f.mtime = 1704067200;  // 2024-01-01 00:00 UTC
  EXPECT_EQ(format_long(f), "-rwxr-xr-x 0/0            1234 2024-01-01 00:00 usr/bin/tool");
  f.uname = "bmitch";
  f.gname = "bmitch";
  f.size = 2;
  f.mode = 04644;
  EXPECT_EQ(format_long(f), "-rwSr--r-- bmitch/bmitch     2 2024-01-01 00:00 usr/bin/tool");

  TarEntry d;
  d.path = "tmp";
  d.type = EntryType::Directory;
  d.mode = 01777;
  EXPECT_EQ(format_long(d), "drwxrwxrwt 0/0               0 1970-01-01 00:00 tmp/");
  d.path = "";
  d.mode = 0755;
  EXPECT_EQ(format_long(d), "drwxr-xr-x 0/0               0 1970-01-01 00:00 ./");

  TarEntry l;
  l.path = "bin/sh";
  l.type = EntryType::Symlink;
  l.mode = 0777;
  l.link_target = "busybox";
  EXPECT_EQ(format_long(l), "lrwxrwxrwx 0/0               0 1970-01-01 00:00 bin/sh -> busybox");
  l.type = EntryType::Hardlink;
  l.mode = 0755;
  l.link_target = "bin/busybox";
  EXPECT_EQ(format_long(l),
            "hrwxr-xr-x 0/0               0 1970-01-01 00:00 bin/sh link to bin/busybox");

  TarEntry c;
  c.path = "dev/null";
  c.type = EntryType::CharDevice;
  c.mode = 0666;
  c.dev_major = 1;
  c.dev_minor = 3;
  EXPECT_EQ(format_long(c), "crw-rw-rw- 0/0             1,3 1970-01-01 00:00 dev/null");
}

// A name with a newline cannot forge a listing line, nor an escape sequence drive the terminal.
TEST(FilesystemFormat, ControlCharactersAreEscaped) {
  EXPECT_EQ(escape_path("etc/plain name-\xc3\xa9"), "etc/plain name-\xc3\xa9");
  EXPECT_EQ(escape_path("a\nb\tc\rd\x1b[31me\x7f\\f"), "a\\nb\\tc\\rd\\x1b[31me\\x7f\\\\f");
  TarEntry f;
  f.path = "x\n-rwxr-xr-x 0/0 0 1970-01-01 00:00 fake";
  f.type = EntryType::File;
  f.mode = 0644;
  EXPECT_EQ(format_long(f),
            "-rw-r--r-- 0/0               0 1970-01-01 00:00 x\\n-rwxr-xr-x 0/0 0 1970-01-01 "
            "00:00 fake");
  TarEntry l;
  l.path = "link\x1b";
  l.type = EntryType::Symlink;
  l.mode = 0777;
  l.link_target = "t\x07";
  EXPECT_EQ(format_long(l), "lrwxrwxrwx 0/0               0 1970-01-01 00:00 link\\x1b -> t\\a");
}

TEST(FilesystemFormat, MatchesGnuTarForOrdinaryEntries) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  LayerBuilder builder({.source_date_epoch = 1700000000});
  builder.add_contents("dir/file", std::string(12345, 'x'), 0640);
  builder.add_symlink("dir/link", "file");
  auto layer = std::move(builder).build();
  ASSERT_TRUE(layer);
  auto in = (*layer)->open_tar();
  ASSERT_TRUE(in);
  fs::path tarfile = tmp->path() / "l.tar";
  ASSERT_TRUE(write_file_atomic(tarfile, *read_all(**in)));
  auto r = de::test::run_command("TZ=UTC tar --numeric-owner -tvf '" + tarfile.string() + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  auto entries = list_layer(**layer);
  ASSERT_TRUE(entries);
  std::string ours;
  for (auto& e : *entries) ours += format_long(e) + "\n";
  EXPECT_EQ(ours, r.out);
}

TEST(FilesystemTestdata, SharedLayersAndWhiteouts) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = de::test::testdata_dir() / "docker" / "layers";
  auto load = [&](const char* name) -> LayerPtr {
    auto bytes = read_file(dir / name, 64 << 20);
    EXPECT_TRUE(bytes) << name;
    return std::make_shared<BytesLayer>(bytes ? *bytes : std::string());
  };
  for (auto& item : fs::directory_iterator(dir)) {
    if (item.path().extension() != ".tar") continue;
    auto entries = list_layer(*load(item.path().filename().c_str()));
    ASSERT_TRUE(entries) << item.path() << ": " << entries.error().to_string();
    EXPECT_FALSE(entries->empty());
  }
  // regclient's pair: the second layer whites out layer2.txt and makes exdir opaque.
  auto base = load("regclient_layer.tar");
  auto wh = load("regclient_layer-wh.tar");
  auto lower_extra = make_layer({{Spec::File, "exdir/hidden", "h"}});
  EXPECT_EQ(merged_paths({base}), (Paths{"layer1.txt", "layer2.txt", "layer3.txt"}));
  EXPECT_EQ(merged_paths({base, lower_extra, wh}), (Paths{"exdir/", "layer1.txt", "layer3.txt"}));
  auto merged = merged_filesystem({base, wh});
  ASSERT_TRUE(merged);
  EXPECT_EQ((*merged)[1].uname, "bmitch");

  auto crane = list_layer(*load("ggcr_crane_content.tar"));
  ASSERT_TRUE(crane);
  ASSERT_EQ(crane->size(), 3u);
  EXPECT_EQ((*crane)[0].path, "");  // "./" is the root
  EXPECT_EQ((*crane)[1].path, "bat");
  EXPECT_EQ((*crane)[1].mode, 0555u);
}

// The tar bytes of a one-file layer (ending in the two-block end-of-archive marker).
std::string tar_bytes(std::string_view content) {
  auto layer = make_layer({{Spec::File, "etc/motd", std::string(content)}});
  auto in = layer->open_tar();
  EXPECT_TRUE(in);
  auto bytes = read_all(**in);
  EXPECT_TRUE(bytes);
  return *bytes;
}

// A stored, uncompressed layer holding `bytes` that claims the given digest and diffID.
LayerPtr claimed_layer(std::string bytes, Digest digest, Digest diff_id) {
  Descriptor blob;
  blob.media_type = std::string(media_type::kOciLayer);
  blob.digest = digest;
  blob.size = static_cast<std::int64_t>(bytes.size());
  auto open = [bytes = std::move(bytes)]() -> Result<std::unique_ptr<Reader>> {
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(bytes));
  };
  return stored_blob_layer(blob, diff_id, open, "test");
}

// Listing reads a layer to the end of its archive, and that is the end of the blob: a tampered
// blob is refused by `image ls` as by `image copy` (go-containerregistry's validate does the same).
TEST(FilesystemVerify, ListingChecksTheBlobDigestAndTheDiffId) {
  std::string good = tar_bytes("genuine\n");
  std::string evil = tar_bytes("tampered\n");
  ASSERT_EQ(good.size(), evil.size());
  Digest good_digest = Digest::of(good);

  auto honest = claimed_layer(good, good_digest, good_digest);
  ASSERT_TRUE(list_layer(*honest)) << list_layer(*honest).error().to_string();
  ASSERT_TRUE(merged_filesystem({honest}));

  // Digest and diffID both claim the genuine bytes.
  auto tampered = claimed_layer(evil, good_digest, good_digest);
  auto listed = list_layer(*tampered);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code(), Code::Corruption) << listed.error().to_string();
  EXPECT_NE(listed.error().to_string().find("does not match its digest"), std::string::npos)
      << listed.error().to_string();
  auto merged = merged_filesystem({tampered});
  ASSERT_FALSE(merged);
  EXPECT_EQ(merged.error().code(), Code::Corruption);

  // The blob digest is honest, the diffID is not.
  auto wrong_diff_id = claimed_layer(evil, Digest::of(evil), good_digest);
  auto listed2 = list_layer(*wrong_diff_id);
  ASSERT_FALSE(listed2);
  EXPECT_EQ(listed2.error().code(), Code::Corruption);
  EXPECT_NE(listed2.error().to_string().find("diffID"), std::string::npos)
      << listed2.error().to_string();
}

// Bytes after the end-of-archive marker are part of the blob: they are read (and verified) too.
TEST(FilesystemVerify, BytesAfterTheEndMarkerAreVerified) {
  std::string good = tar_bytes("genuine\n") + std::string(8192, '\0');
  std::string evil = good;
  evil.back() = 'x';
  auto layer = claimed_layer(evil, Digest::of(good), Digest::of(good));
  auto listed = list_layer(*layer);
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code(), Code::Corruption);
}

}  // namespace
}  // namespace de::oci
