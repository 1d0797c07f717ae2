#include "docker_envs/oci/tar.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "oci/tar_test_util.hpp"
#include "support/testdata.hpp"

namespace de::oci {
namespace {

namespace fs = std::filesystem;
using namespace de::oci::tar_util;

void write_text(const fs::path& p, std::string_view text) {
  std::ofstream(p, std::ios::binary) << text;
}

TEST(PathNormalize, CleansRelativeAndAbsolutePaths) {
  EXPECT_EQ(*normalize_path("./a//b/"), "a/b");
  EXPECT_EQ(*normalize_path("/x"), "x");
  EXPECT_EQ(*normalize_path("."), "");
  EXPECT_EQ(*normalize_path(""), "");
  EXPECT_EQ(*normalize_path("./"), "");
  EXPECT_EQ(*normalize_path("a/./b/../c"), "a/c");
  EXPECT_EQ(*normalize_path("a/.."), "");
  EXPECT_EQ(*normalize_path("/a/b/../../c/"), "c");
}

TEST(PathNormalize, RefusesClimbingAboveRoot) {
  for (std::string_view bad : {"..", "../x", "a/../../x", "/../etc/passwd", "./a/b/../../../c"}) {
    auto r = normalize_path(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::Corruption);
    EXPECT_NE(r.error().message().find(std::string(bad)), std::string::npos) << r.error().message();
  }
}

TEST(TarRoundTrip, WriterOutputReadsBack) {
  TarEntry dir;
  dir.path = "usr";
  dir.type = EntryType::Directory;
  dir.mode = 0755;
  dir.mtime = 1700000000;
  TarEntry file = file_entry("usr/hello.txt", 5, 04755);
  file.uid = 1000;
  file.gid = 100;
  file.uname = "user";
  file.gname = "users";
  file.mtime = 1234567890;
  TarEntry link;
  link.path = "usr/link";
  link.type = EntryType::Symlink;
  link.mode = 0777;
  link.link_target = "../etc/target";
  TarEntry hard;
  hard.path = "usr/hard";
  hard.type = EntryType::Hardlink;
  hard.link_target = "usr/hello.txt";
  TarEntry dev;
  dev.path = "dev/null";
  dev.type = EntryType::CharDevice;
  dev.mode = 0666;
  dev.dev_major = 1;
  dev.dev_minor = 3;
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.type = EntryType::Fifo;
  TarEntry big = file_entry(std::string(120, 'd') + "/" + std::string(150, 'f'), 600);
  TarEntry longlink = link;
  longlink.path = "longlink";
  longlink.link_target = std::string(300, 't');
  TarEntry attrs = file_entry("attrs", 0);
  attrs.xattrs["user.note"] = "hi there";
  attrs.xattrs["security.capability"] = std::string("\x01\x00\x00\x02", 4);
  TarEntry bigid = file_entry("bigid", 1);
  bigid.uid = 100000000;
  bigid.gid = 3000000000;
  bigid.uname = std::string(40, 'u');
  bigid.mtime = -5;
  TarEntry utf = file_entry("caf\xc3\xa9/\xe2\x98\x83.txt", 3);

  std::vector<std::pair<TarEntry, std::string>> in = {{dir, ""},
                                                      {file, "hello"},
                                                      {link, ""},
                                                      {hard, ""},
                                                      {dev, ""},
                                                      {fifo, ""},
                                                      {big, std::string(600, 'x')},
                                                      {longlink, ""},
                                                      {attrs, ""},
                                                      {bigid, "z"},
                                                      {utf, "abc"}};
  std::string bytes = write_tar(in);
  auto out = must_read(bytes);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].entry, in[i].first) << in[i].first.path;
    EXPECT_EQ(out[i].data, in[i].second) << in[i].first.path;
    // The offset must point at the data within the stream.
    EXPECT_EQ(bytes.substr(out[i].offset, in[i].second.size()), in[i].second);
  }
}

TEST(TarWriter, EncodedSizeIsExact) {
  std::vector<TarEntry> entries;
  for (size_t len : {1, 99, 100, 101, 155, 156, 200, 255, 256, 257, 300, 5000}) {
    for (size_t size : {0, 1, 511, 512, 513}) {
      TarEntry e = file_entry(std::string(len, 'a'), size);
      entries.push_back(e);
      // Splittable variants: a slash somewhere in the middle.
      if (len > 10) {
        e.path[len / 2] = '/';
        entries.push_back(e);
        e.type = EntryType::Directory;
        e.size = 0;
        entries.push_back(e);
      }
    }
  }
  TarEntry x = file_entry("x", 3);
  x.xattrs["user.a"] = std::string(1000, 'v');
  entries.push_back(x);
  for (size_t vlen = 80; vlen < 110; ++vlen) {  // pax record lengths crossing digit counts
    TarEntry e = file_entry("p", 0);
    e.xattrs["user.k"] = std::string(vlen, 'v');
    entries.push_back(e);
  }
  for (const TarEntry& e : entries) {
    StringWriter out;
    TarWriter writer(out);
    StringReader data(std::string(e.size, 'q'));
    ASSERT_TRUE(writer.add(e, &data));
    EXPECT_EQ(out.str().size(), TarWriter::encoded_size(e)) << e.path.size() << " " << e.size;
    EXPECT_EQ(out.str().size() % 512, 0u);
    auto back = must_read(out.str());
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].entry.path, e.path);
  }
}

TEST(TarWriter, DeterministicAndDirectoriesEndWithSlash) {
  TarEntry dir;
  dir.path = "a/b";
  dir.type = EntryType::Directory;
  std::string one = write_tar({{dir, ""}, {file_entry("a/b/c", 2), "hi"}});
  std::string two = write_tar({{dir, ""}, {file_entry("a/b/c", 2), "hi"}});
  EXPECT_EQ(one, two);
  EXPECT_EQ(one.substr(0, 5), std::string("a/b/\0", 5));
  EXPECT_EQ(one.size(), 512u * 3 + 1024);
}

TEST(TarWriter, RefusesDataOfWrongSize) {
  StringWriter out;
  TarWriter writer(out);
  StringReader short_data("abc");
  auto r = writer.add(file_entry("f", 4), &short_data);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("'f'"), std::string::npos);
  StringReader long_data("abcde");
  EXPECT_FALSE(writer.add(file_entry("g", 4), &long_data));
  EXPECT_FALSE(writer.add(file_entry("h", 4), nullptr));
}

TEST(TarReader, TruncatedInputIsCorruption) {
  std::string bytes = write_tar({{file_entry("file.txt", 1000), std::string(1000, 'x')}});
  for (size_t cut : {100, 512, 700, 1400}) {
    auto r = read_tar(bytes.substr(0, cut));
    ASSERT_FALSE(r) << cut;
    EXPECT_EQ(r.error().code(), Code::Corruption) << cut;
    EXPECT_NE(r.error().message().find("truncated"), std::string::npos) << r.error().message();
  }
  // Cut on a block boundary after the data: plain EOF is accepted as the end.
  EXPECT_EQ(must_read(bytes.substr(0, 1536)).size(), 1u);
}

TEST(TarReader, BadChecksumIsCorruption) {
  std::string bytes = write_tar({{file_entry("file.txt", 1), "x"}});
  bytes[3] = 'Z';
  auto r = read_tar(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption);
  EXPECT_NE(r.error().message().find("checksum"), std::string::npos);
}

TEST(TarReader, RefusesUnsafePaths) {
  std::string bytes = write_tar({{file_entry("../evil", 1), "x"}});
  auto r = read_tar(bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption);
  EXPECT_NE(r.error().message().find("../evil"), std::string::npos);
}

TEST(TarReader, SkipsUnreadDataAndReportsOffsets) {
  std::string bytes =
      write_tar({{file_entry("a", 700), std::string(700, 'a')}, {file_entry("b", 3), "bbb"}});
  StringReader in(bytes);
  TarReader reader(in);
  auto a = reader.next();
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(reader.data_offset(), 512u);
  std::byte buf[10];
  ASSERT_EQ(*reader.read_data(buf), 10u);
  auto b = reader.next();
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->path, "b");
  EXPECT_EQ(reader.data_offset(), 512u + 1024 + 512);
  auto end = reader.next();
  ASSERT_TRUE(end);
  EXPECT_FALSE(*end);
  EXPECT_FALSE(*reader.next());
}

TEST(TarReader, Base256AndGlobalPax) {
  // Hand-made: a global pax header setting uname for every entry, then an entry whose uid is
  // base-256 encoded (as GNU tar writes big ids).
  std::string bytes = write_tar({{file_entry("f", 0), ""}});
  std::string header = bytes.substr(0, 512);
  // uid: 0x80 marker then big-endian 2^40.
  std::string uid(8, '\0');
  uid[0] = static_cast<char>(0x80);
  uid[2] = 1;
  header.replace(108, 8, uid);
  std::memset(header.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : header) sum += static_cast<unsigned char>(c);
  header.replace(148, 8, fmt::format("{:06o}", sum) + std::string("\0 ", 2));

  std::string records = "16 uname=global\n";
  std::string g = bytes.substr(0, 512);
  g.replace(0, 100, std::string(100, '\0'));
  g.replace(0, 12, "global-pax00");
  g[156] = 'g';
  g.replace(124, 12, fmt::format("{:011o}", records.size()) + std::string(1, '\0'));
  std::memset(g.data() + 148, ' ', 8);
  sum = 0;
  for (char c : g) sum += static_cast<unsigned char>(c);
  g.replace(148, 8, fmt::format("{:06o}", sum) + std::string("\0 ", 2));
  std::string global = g + records + std::string(512 - records.size(), '\0');

  auto out = must_read(global + header + header + std::string(1024, '\0'));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].entry.uid, std::int64_t{1} << 40);
  EXPECT_EQ(out[0].entry.uname, "global");
  EXPECT_EQ(out[1].entry.uname, "global");
}

TEST(TarReader, V7DirectoryWithDataYieldsNone) {
  // A v7 directory is a regular-file type with a trailing slash. When its size field claims data
  // (found by fuzzing: read_data() handed out bytes beyond the entry's size of 0), the blocks are
  // skipped, and the next entry still reads.
  std::string bytes = write_tar({{file_entry("d/", 600), std::string(600, 'z')},
                                 {file_entry("f", 1), "x"}});
  auto out = must_read(bytes);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].entry.type, EntryType::Directory);
  EXPECT_EQ(out[0].entry.size, 0u);
  EXPECT_EQ(out[0].data, "");
  EXPECT_EQ(out[1].entry.path, "f");
  EXPECT_EQ(out[1].data, "x");

  // The fuzzer's input: such a directory whose data is cut short is a truncated stream.
  std::string header = bytes.substr(0, 512);
  StringReader in(header + std::string(35, '\0'));
  TarReader tar(in);
  auto first = tar.next();
  ASSERT_FALSE(first && *first) << "a truncated v7 directory must not be handed out";
}

// Real GNU tar output, in every format it writes.
class TarGnuFormats : public ::testing::TestWithParam<std::string> {};

TEST_P(TarGnuFormats, ReadsRealGnuTar) {
  const std::string format = GetParam();
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  bool v7 = format == "v7";
  // v7 cannot hold names over 99 bytes; ustar not over 255 (split) ; gnu/posix anything.
  std::string long100 = std::string(60, 'd') + "/" + std::string(60, 'f');  // 121, splittable
  std::string long255 = std::string(120, 'a') + "/" + std::string(120, 'b') + "/" +
                        std::string(90, 'c');  // 332 bytes
  fs::create_directories(src / "dir" / "sub");
  write_text(src / "dir" / "hello.txt", "hello world\n");
  write_text(src / "dir" / "big.bin", std::string(3000, 'B'));
  fs::permissions(src / "dir" / "hello.txt", fs::perms(0750));
  fs::create_symlink("hello.txt", src / "dir" / "sym");
  fs::create_hard_link(src / "dir" / "hello.txt", src / "dir" / "hard");
  if (!v7) {
    fs::create_directories(src / long100.substr(0, 60));
    write_text(src / long100, "long100");
  }
  if (format == "gnu" || format == "posix") {
    fs::create_directories(src / long255.substr(0, 241));
    write_text(src / long255, "long255");
    fs::create_symlink(std::string(150, 'T'), src / "longsym");
  }
  fs::path tarfile = tmp->path() / "out.tar";
  auto r = de::test::run_command("cd '" + src.string() + "' && tar --format=" + format +
                                 " --sort=name --owner=0 --group=0 --numeric-owner -cf '" +
                                 tarfile.string() + "' .");
  ASSERT_EQ(r.status, 0) << r.err;
  auto content = read_file(tarfile, 64 << 20);
  ASSERT_TRUE(content);
  auto entries = must_read(*content);
  std::map<std::string, ReadEntry> by_path;
  for (auto& e : entries) by_path[e.entry.path] = e;

  ASSERT_TRUE(by_path.count(""));
  EXPECT_EQ(by_path[""].entry.type, EntryType::Directory);
  ASSERT_TRUE(by_path.count("dir/sub"));
  EXPECT_EQ(by_path["dir/sub"].entry.type, EntryType::Directory);
  ASSERT_TRUE(by_path.count("dir/hello.txt"));
  // --sort=name puts "hard" before "hello.txt": the first seen is the file, the other the link.
  ASSERT_TRUE(by_path.count("dir/hard"));
  EXPECT_EQ(by_path["dir/hard"].entry.type, EntryType::File);
  EXPECT_EQ(by_path["dir/hard"].data, "hello world\n");
  EXPECT_EQ(by_path["dir/hard"].entry.mode, 0750u);
  EXPECT_EQ(by_path["dir/hello.txt"].entry.type, EntryType::Hardlink);
  EXPECT_EQ(by_path["dir/hello.txt"].entry.link_target, "dir/hard");
  EXPECT_EQ(by_path["dir/big.bin"].data, std::string(3000, 'B'));
  EXPECT_EQ(by_path["dir/sym"].entry.type, EntryType::Symlink);
  EXPECT_EQ(by_path["dir/sym"].entry.link_target, "hello.txt");
  if (!v7) {
    ASSERT_TRUE(by_path.count(long100)) << format;
    EXPECT_EQ(by_path[long100].data, "long100");
  }
  if (format == "gnu" || format == "posix") {
    ASSERT_TRUE(by_path.count(long255)) << format;
    EXPECT_EQ(by_path[long255].data, "long255");
    EXPECT_EQ(by_path["longsym"].entry.link_target, std::string(150, 'T'));
  }
  // Every data offset points at the entry's bytes in the file.
  for (auto& e : entries)
    EXPECT_EQ(content->substr(e.offset, e.data.size()), e.data) << e.entry.path;
}

INSTANTIATE_TEST_SUITE_P(TarFormats, TarGnuFormats,
                         ::testing::Values("gnu", "posix", "ustar", "v7", "oldgnu"));

TEST(TarReader, PaxSizeForHugeFiles) {
  TarEntry huge = file_entry("huge.bin", std::uint64_t{9} << 30);
  auto header = TarWriter::encode_header(huge);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->size(), 512u * 3);  // pax header + records + ustar header
  EXPECT_EQ(TarWriter::encoded_size(huge), header->size() + huge.size);
  StringReader in(*header);
  TarReader reader(in);
  auto entry = reader.next();
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->size, std::uint64_t{9} << 30);
  EXPECT_EQ(reader.data_offset(), header->size());
  auto end = reader.next();  // the data is missing
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code(), Code::Corruption);
}

TEST(TarReader, GnuIncrementalDumpdirIsADirectory) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  fs::create_directories(src / "d");
  write_text(src / "d" / "f", "data");
  fs::path tarfile = tmp->path() / "inc.tar";
  auto r =
      de::test::run_command("cd '" + src.string() + "' && tar --format=gnu -g '" +
                            (tmp->path() / "snar").string() + "' -cf '" + tarfile.string() + "' d");
  ASSERT_EQ(r.status, 0) << r.err;
  auto entries = must_read(*read_file(tarfile));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].entry.path, "d");
  EXPECT_EQ(entries[0].entry.type, EntryType::Directory);
  EXPECT_EQ(entries[0].data, "");
  EXPECT_EQ(entries[1].entry.path, "d/f");
  EXPECT_EQ(entries[1].data, "data");
}

TEST(TarReader, ReadsGnuPaxNonAsciiAndFractionalMtime) {
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  fs::path src = tmp->path() / "src";
  fs::create_directories(src);
  write_text(src / "caf\xc3\xa9.txt", "u");
  fs::path tarfile = tmp->path() / "out.tar";
  auto r =
      de::test::run_command("cd '" + src.string() +
                            "' && tar --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f "
                            "--mtime=@1700000000.5 -cf '" +
                            tarfile.string() + "' .");
  ASSERT_EQ(r.status, 0) << r.err;
  auto entries = must_read(*read_file(tarfile));
  bool found = false;
  for (auto& e : entries)
    if (e.entry.path == "caf\xc3\xa9.txt") {
      found = true;
      EXPECT_EQ(e.entry.mtime, 1700000000);
      EXPECT_EQ(e.data, "u");
    }
  EXPECT_TRUE(found);
}

TEST(TarReader, ReadsSharedLayerTestdata) {
  DE_REQUIRE_TESTDATA();
  fs::path dir = de::test::testdata_dir() / "docker" / "layers";
  int count = 0;
  for (auto& item : fs::directory_iterator(dir)) {
    if (item.path().extension() != ".tar") continue;
    auto content = read_file(item.path(), 256 << 20);
    ASSERT_TRUE(content) << item.path();
    auto r = read_tar(*content);
    ASSERT_TRUE(r) << item.path() << ": " << r.error().to_string();
    EXPECT_FALSE(r->empty()) << item.path();
    ++count;
  }
  EXPECT_GT(count, 0);
}

}  // namespace
}  // namespace de::oci

namespace de::oci {
namespace {

// Lists `bytes` with GNU tar and returns the number of entries it prints.
size_t gnu_tar_count(const fs::path& dir, const std::string& bytes) {
  fs::path f = dir / "count.tar";
  EXPECT_TRUE(write_file_atomic(f, bytes));
  auto r = de::test::run_command("tar -tf '" + f.string() + "' | wc -l");
  EXPECT_EQ(r.status, 0) << r.err;
  return static_cast<size_t>(std::stoul(r.out));
}

TEST(TarReader, ReadsEveryRealArchiveAndItsPlainLayers) {
  DE_REQUIRE_TESTDATA();
  auto tmp = TempDir::create();
  ASSERT_TRUE(tmp);
  size_t archives = 0, layers = 0, hardlinks = 0, whiteouts = 0;
  for (const char* sub : {"docker/docker-archive", "docker/oci-archive", "docker/layers"}) {
    for (auto& item : fs::recursive_directory_iterator(de::test::testdata_dir() / sub)) {
      if (item.path().extension() != ".tar") continue;
      auto content = read_file(item.path(), 256 << 20);
      ASSERT_TRUE(content);
      auto outer = read_tar(*content);
      ASSERT_TRUE(outer) << item.path() << ": " << outer.error().to_string();
      EXPECT_EQ(outer->size(), gnu_tar_count(tmp->path(), *content)) << item.path();
      ++archives;
      for (auto& member : *outer) {
        EXPECT_EQ(content->substr(member.offset, member.data.size()), member.data);
        // Plain (uncompressed) tar members are layers: read them too.
        if (member.data.size() < 512 || member.data.compare(257, 5, "ustar") != 0) continue;
        auto inner = read_tar(member.data);
        ASSERT_TRUE(inner) << item.path() << " " << member.entry.path << ": "
                           << inner.error().to_string();
        EXPECT_EQ(inner->size(), gnu_tar_count(tmp->path(), member.data))
            << item.path() << " " << member.entry.path;
        ++layers;
        for (auto& e : *inner) {
          if (e.entry.type == EntryType::Hardlink) ++hardlinks;
          std::string_view base = e.entry.path;
          if (auto slash = base.rfind('/'); slash != std::string_view::npos)
            base.remove_prefix(slash + 1);
          if (base.starts_with(".wh.")) ++whiteouts;
        }
      }
    }
  }
  EXPECT_GT(archives, 10u);
  EXPECT_GT(layers, 10u);
  EXPECT_GT(hardlinks, 300u);  // dive's busybox layer
  EXPECT_GT(whiteouts, 2u);
}

}  // namespace
}  // namespace de::oci

namespace de::oci {
namespace {

// Untrusted input must give an entry list or an error, never a crash or a hang: mutate every
// byte of an archive with pax and GNU long names (fixing the header checksum so that the parser
// goes past it) and read each variant.
TEST(TarReader, SurvivesMutatedInput) {
  TarEntry long_name = file_entry(std::string(130, 'n') + "/" + std::string(130, 'm'), 700);
  long_name.xattrs["user.x"] = "y";
  TarEntry link;
  link.path = "l";
  link.type = EntryType::Symlink;
  link.link_target = std::string(150, 't');
  std::string base = write_tar({{long_name, std::string(700, 'd')}, {link, ""}});
  // A GNU 'L' header in front, made by GNU tar itself, would need a subprocess per variant; the
  // writer's pax header covers the metadata path and this covers the ustar one.
  size_t ok = 0, failed = 0;
  for (size_t i = 0; i < base.size() - 1024; ++i) {
    for (int value : {0x00, 0xff, 0x80, int{'7'}, int{' '}, int{'9'}, int{'\n'}, int{'/'}}) {
      std::string bytes = base;
      bytes[i] = static_cast<char>(value);
      size_t block = i / 512 * 512;
      bool header = bytes.compare(block + 257, 5, "ustar") == 0;
      if (header && (i - block < 148 || i - block >= 156)) {
        std::memset(bytes.data() + block + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t k = block; k < block + 512; ++k) sum += static_cast<unsigned char>(bytes[k]);
        bytes.replace(block + 148, 8, fmt::format("{:06o}", sum) + std::string("\0 ", 2));
      }
      auto r = read_tar(std::move(bytes));
      (r ? ok : failed)++;
    }
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
}

}  // namespace
}  // namespace de::oci
