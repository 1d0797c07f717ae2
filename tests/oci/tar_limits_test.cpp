// Hostile tar metadata (issue 13 items 5 and 9): bounded pax headers, global headers that are not
// copied into every entry, and single-block headers for archive members of 8 GiB and more.
#include <gtest/gtest.h>

#include <cstring>

#include "docker_envs/oci/tar.hpp"
#include "oci/tar_test_util.hpp"

namespace de::oci {
namespace {

using namespace de::oci::tar_util;

// A header block of `type` ('x', 'g', ...) announcing `size` bytes of data, with a valid checksum.
std::string meta_header(char type, std::uint64_t size) {
  std::string h = write_tar({{file_entry("meta", 0), ""}}).substr(0, 512);
  h[156] = type;
  h.replace(124, 12, fmt::format("{:011o}", size) + std::string(1, '\0'));
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  h.replace(148, 8, fmt::format("{:06o}", sum) + std::string("\0 ", 2));
  return h;
}

// "<len> key=value\n", len counting itself.
std::string pax_record(std::string_view key, std::string_view value) {
  size_t body = key.size() + value.size() + 3;
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  return fmt::format("{} {}={}\n", len, key, value);
}

// A pax header ('x' or 'g') with `records` and its padding.
std::string pax_header(char type, const std::string& records) {
  return meta_header(type, records.size()) + records +
         std::string(TarWriter::padding(records.size()), '\0');
}

// Issue 13 item 5: a global pax header with many keys was copied into every entry (an 83 KB
// image needed 4 GB). Global headers now set only owner/mtime defaults, looked up per entry.
TEST(TarReader, GlobalPaxWithManyKeysIsNotCopiedIntoEveryEntry) {
  std::string records = pax_record("uname", "global") + pax_record("path", "renamed");
  for (int i = 0; i < 20000; ++i) records += pax_record(fmt::format("SCHILY.xattr.user.k{}", i), "v");
  std::string entries;
  for (int i = 0; i < 500; ++i)
    entries += write_tar({{file_entry(fmt::format("f{}", i), 0), ""}}).substr(0, 512);
  auto out = must_read(pax_header('g', records) + entries + std::string(1024, '\0'));
  ASSERT_EQ(out.size(), 500u);
  for (auto& e : out) {
    EXPECT_EQ(e.entry.uname, "global");
    EXPECT_TRUE(e.entry.xattrs.empty()) << e.entry.path << " has " << e.entry.xattrs.size();
  }
  EXPECT_EQ(out[7].entry.path, "f7");  // a global path does not rename every entry
}

// Issue 13 item 5: pax metadata is bounded (1 MiB before one entry, 1 MiB of global headers).
TEST(TarReader, RefusesOversizedPaxHeaders) {
  std::string entry = write_tar({{file_entry("f", 0), ""}}).substr(0, 512);
  std::string end(1024, '\0');
  std::string big = pax_record("SCHILY.xattr.user.big", std::string((1 << 20) + 10, 'v'));
  std::string half = pax_record("SCHILY.xattr.user.half", std::string(600 << 10, 'v'));
  struct Case {
    std::string name, bytes, message;
  } cases[] = {
      {"one local header", pax_header('x', big) + entry + end, "pax header at offset 0 holds"},
      {"two local headers", pax_header('x', half) + pax_header('x', half) + entry + end,
       "before one entry"},
      {"one global header", pax_header('g', big) + entry + end, "global pax header at offset 0"},
      {"global headers together", pax_header('g', half) + entry + pax_header('g', half) + entry + end,
       "for all global headers"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = read_tar(c.bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::Corruption);
    EXPECT_NE(r.error().to_string().find(c.message), std::string::npos) << r.error().to_string();
  }
  // Up to the limit is fine, and the budget is per entry: 600 KiB before each of two entries.
  auto ok = read_tar(pax_header('x', half) + entry + pax_header('x', half) + entry + end);
  ASSERT_TRUE(ok) << ok.error().to_string();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].entry.xattrs.at("user.half").size(), 600u << 10);
}

// Issue 13 item 9: archive members (docker-archive / oci-archive) get one reserved header block,
// patched once the size is known; at 8 GiB and above the octal size field overflows and the
// archive failed. The single-block header writes the size in GNU base-256 instead.
TEST(TarWriter, SingleHeaderHoldsSizesOf8GiBAndMore) {
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{077777777777},
                             std::uint64_t{8} << 30, std::uint64_t{10} << 30,
                             std::uint64_t{1} << 62}) {
    SCOPED_TRACE(size);
    TarEntry member = file_entry("blobs/sha256/" + std::string(64, 'a'), size);
    auto header = TarWriter::encode_single_header(member);
    ASSERT_TRUE(header) << header.error().to_string();
    ASSERT_EQ(header->size(), 512u);
    bool octal = size <= 077777777777;
    EXPECT_EQ(static_cast<unsigned char>((*header)[124]) == 0x80, !octal);  // base-256 marker
    if (octal) {
      EXPECT_EQ(*header, *TarWriter::encode_header(member));
    }
    // The header reads back with its size (the data itself is not needed to check that).
    StringReader in(*header);
    TarReader reader(in);
    auto entry = reader.next();
    ASSERT_TRUE(entry && *entry) << (entry ? "end" : entry.error().to_string());
    EXPECT_EQ((*entry)->size, size);
    EXPECT_EQ((*entry)->path, member.path);
    EXPECT_EQ(reader.data_offset(), 512u);
  }
  // What a single block cannot hold is refused, not truncated.
  auto long_name = TarWriter::encode_single_header(file_entry(std::string(300, 'x'), 1));
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().code(), Code::Unsupported);
}

}  // namespace
}  // namespace de::oci
