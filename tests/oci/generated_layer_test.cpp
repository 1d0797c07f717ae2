#include "docker_envs/oci/generated_layer.hpp"

#include <gtest/gtest.h>

namespace de::oci {
namespace {

// Data from strings, indexed by GeneratedEntry::data; counts the opens.
class Strings final : public EntryData {
 public:
  explicit Strings(std::vector<std::string> s) : strings(std::move(s)) {}
  Result<std::unique_ptr<Reader>> open(const TarEntry&, std::size_t source) const override {
    ++opened;
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(strings.at(source)));
  }
  Error wrong_size(const TarEntry& entry, std::size_t, std::uint64_t got) const override {
    return Error(Code::Corruption, fmt::format("{}: got {} of {}", entry.path, got, entry.size));
  }
  std::vector<std::string> strings;
  mutable int opened = 0;
};

GeneratedEntry file(std::string path, std::uint64_t size, std::size_t data) {
  GeneratedEntry g;
  g.tar.path = std::move(path);
  g.tar.size = size;
  g.data = data;
  return g;
}

GeneratedEntry link(std::string path, std::string target) {
  GeneratedEntry g;
  g.tar.path = std::move(path);
  g.tar.type = EntryType::Hardlink;
  g.tar.link_target = std::move(target);
  return g;
}

struct Read {
  std::vector<TarEntry> entries;
  std::vector<std::string> data;
};

Result<Read> read_layer(const Layer& layer) {
  auto in = DE_TRY(layer.open_tar());
  auto bytes = DE_TRY(read_all(*in, 1 << 20));
  if (bytes.size() != layer.tar_size())
    return fail(Code::Internal, "{} bytes, tar_size {}", bytes.size(), *layer.tar_size());
  StringReader source(bytes);
  TarReader tar(source);
  Read out;
  while (auto e = DE_TRY(tar.next())) {
    std::string data(e->size, '\0');
    if (e->size) DE_TRY(tar.read_data(std::as_writable_bytes(std::span(data))));
    out.entries.push_back(std::move(*e));
    out.data.push_back(std::move(data));
  }
  return out;
}

TEST(GeneratedLayer, SortsImpliesParentsAndKeepsTheLastEntryPerPath) {
  auto data = std::make_shared<Strings>(std::vector<std::string>{"old", "new!", "b"});
  GeneratedEntry empty_dir;
  empty_dir.tar.path = "a/empty";
  empty_dir.tar.type = EntryType::Directory;
  empty_dir.tar.mode = 0700;
  empty_dir.tar.mtime = 2000;
  auto layer =
      generated_layer({file("z/y/b", 1, 2), file("a/x", 3, 0), empty_dir, file("a/x", 4, 1)}, data,
                      {.implied_directory =
                           [](TarEntry& d) {
                             d.uid = 7;
                             d.mtime = 1000;
                           },
                       .clamp_mtime = 1500,
                       .description = {}});
  ASSERT_TRUE(layer) << layer.error().to_string();
  EXPECT_EQ((*layer)->describe(), "new layer (6 entries)");
  EXPECT_FALSE((*layer)->blob());
  EXPECT_FALSE((*layer)->diff_id());
  auto read = read_layer(**layer);
  ASSERT_TRUE(read) << read.error().to_string();
  std::vector<std::string> paths;
  for (const auto& e : read->entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a/empty", "a/x", "z", "z/y", "z/y/b"}));
  const auto& a = read->entries[0];
  EXPECT_EQ(a.type, EntryType::Directory);
  EXPECT_EQ(a.mode, 0755u);
  EXPECT_EQ(a.uid, 7);
  EXPECT_EQ(a.mtime, 1000);
  EXPECT_EQ(read->entries[1].mode, 0700u);  // named: its own mode
  EXPECT_EQ(read->entries[1].mtime, 1500);  // clamped
  EXPECT_EQ(read->data[2], "new!");         // the later entry for a/x
  EXPECT_EQ(read->data[5], "b");
  EXPECT_EQ(data->opened, 2);
}

TEST(GeneratedLayer, HardlinksBeforeTheirTargetBecomeCopies) {
  auto data = std::make_shared<Strings>(std::vector<std::string>{"content"});
  auto layer =
      generated_layer({file("lib/m", 7, 0), link("lib/a", "lib/m"), link("lib/z", "lib/m")}, data);
  ASSERT_TRUE(layer) << layer.error().to_string();
  auto read = read_layer(**layer);
  ASSERT_TRUE(read) << read.error().to_string();
  ASSERT_EQ(read->entries.size(), 4u);
  EXPECT_EQ(read->entries[1].path, "lib/a");
  EXPECT_EQ(read->entries[1].type, EntryType::File);  // its target comes later: a copy
  EXPECT_EQ(read->entries[1].link_target, "");
  EXPECT_EQ(read->data[1], "content");
  EXPECT_EQ(read->entries[3].path, "lib/z");
  EXPECT_EQ(read->entries[3].type, EntryType::Hardlink);
  EXPECT_EQ(read->entries[3].link_target, "lib/m");
  EXPECT_EQ(read->entries[3].size, 0u);

  for (auto target : {"lib/missing", "lib"}) {
    auto bad = generated_layer({file("lib/m", 7, 0), link("lib/l", target)}, data);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
    EXPECT_NE(bad.error().to_string().find("hardlink lib/l points to " + std::string(target)),
              std::string::npos)
        << bad.error().to_string();
  }
}

TEST(GeneratedLayer, DataOfTheWrongSizeIsAnErrorWhenRead) {
  for (std::string content : {std::string("short"), std::string(5000, 'x')}) {
    auto data = std::make_shared<Strings>(std::vector<std::string>{content});
    auto layer = generated_layer({file("f", 1000, 0)}, data);
    ASSERT_TRUE(layer) << layer.error().to_string();
    auto in = (*layer)->open_tar();
    ASSERT_TRUE(in);
    auto all = read_all(**in, 1 << 20);
    ASSERT_FALSE(all) << content.size();
    EXPECT_EQ(all.error().code(), Code::Corruption);
    EXPECT_NE(all.error().to_string().find(content.size() < 1000 ? "f: got 5 of 1000"
                                                                 : "f: got 1001 of 1000"),
              std::string::npos)
        << all.error().to_string();
    // Sticky: the reader keeps failing.
    std::byte buf[16];
    EXPECT_FALSE((*in)->read(buf));
  }
}

TEST(GeneratedLayer, EntriesNoTarCanHoldAreRefusedUpFront) {
  GeneratedEntry bad;
  bad.tar.path = std::string("a\0b", 3);
  bad.tar.type = EntryType::Directory;
  auto layer = generated_layer({bad}, nullptr);
  ASSERT_FALSE(layer);
  EXPECT_NE(layer.error().to_string().find("adding a"), std::string::npos)
      << layer.error().to_string();
  auto no_data = generated_layer({file("f", 3, 0)}, nullptr);
  ASSERT_FALSE(no_data);
}

}  // namespace
}  // namespace de::oci
