#include "docker_envs/build/layer_cache.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/build/entries_layer.hpp"
#include "docker_envs/oci/filesystem.hpp"

namespace de::build {
namespace {

namespace fs = std::filesystem;
using conda::InstallEntry;

InstallEntry bytes(std::string path, std::string data, std::string package = "p-1-0") {
  InstallEntry e;
  e.path = std::move(path);
  e.source = InstallEntry::Source::Bytes;
  e.size = data.size();
  e.data = std::move(data);
  e.package = std::move(package);
  return e;
}

Result<std::string> no_host_files(const InstallEntry& e) {
  return fail(Code::Internal, "unexpected host file {}", e.path);
}

TEST(EntriesLayer, SortsAddsParentsAndOrdersHardlinks) {
  InstallEntry link;
  link.path = "opt/conda/a-link";
  link.type = InstallEntry::Type::Hardlink;
  link.link_target = "opt/conda/z-target";
  InstallEntry later_link = link;
  later_link.path = "opt/conda/zz-link";
  std::vector<InstallEntry> entries = {bytes("opt/conda/z-target", "T"), link, later_link,
                                       bytes("opt/conda/bin/x", "X")};
  auto layer = entries_layer(entries, {.prefix = "/opt/conda", .owner = {5, 6}, .mtime = 42});
  ASSERT_TRUE(layer) << layer.error().to_string();
  auto listed = oci::list_layer(**layer);
  ASSERT_TRUE(listed) << listed.error().to_string();
  std::vector<std::string> paths;
  for (const auto& e : *listed) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"opt", "opt/conda", "opt/conda/a-link",
                                             "opt/conda/bin", "opt/conda/bin/x",
                                             "opt/conda/z-target", "opt/conda/zz-link"}));
  // The link before its target becomes a copy; the one after stays a hardlink.
  EXPECT_EQ((*listed)[2].type, oci::EntryType::File);
  EXPECT_EQ((*listed)[2].size, 1u);
  EXPECT_EQ((*listed)[6].type, oci::EntryType::Hardlink);
  EXPECT_EQ((*listed)[0].uid, 0);
  EXPECT_EQ((*listed)[1].uid, 5);
  EXPECT_EQ((*listed)[1].gid, 6);
  for (const auto& e : *listed) EXPECT_EQ(e.mtime, 42);
  // tar_size is exact.
  auto tar = (*layer)->open_tar();
  ASSERT_TRUE(tar);
  NullWriter sink;
  HashingWriter counter(sink);
  ASSERT_TRUE(copy(**tar, counter));
  EXPECT_EQ((*layer)->tar_size(), counter.bytes());

  InstallEntry dangling = link;
  dangling.link_target = "opt/conda/missing";
  auto bad = entries_layer({dangling}, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("opt/conda/missing"), std::string::npos);
}

TEST(LayerKey, DependsOnExactlyWhatMakesTheBytes) {
  std::vector<InstallEntry> entries = {bytes("opt/conda/a", "A"), bytes("opt/conda/b", "B")};
  LayerKeyOptions o{.layer = {.prefix = "/opt/conda"}, .compression = Compression::Gzip};
  auto base = layer_key(entries, o, no_host_files);
  ASSERT_TRUE(base);
  // Order of the entries and the description do not matter.
  std::vector<InstallEntry> reversed = {entries[1], entries[0]};
  auto described = o;
  described.layer.description = "other words";
  EXPECT_EQ(*layer_key(reversed, described, no_host_files), *base);
  // Everything that changes bytes does.
  auto differs = [&](std::vector<InstallEntry> es, LayerKeyOptions opts) {
    auto k = layer_key(es, opts, no_host_files);
    return k && *k != *base;
  };
  auto changed = entries;
  changed[0].data = "a";
  EXPECT_TRUE(differs(changed, o));
  changed = entries;
  changed[0].mode = 0755;
  EXPECT_TRUE(differs(changed, o));
  auto opts = o;
  opts.compression = Compression::Zstd;
  EXPECT_TRUE(differs(entries, opts));
  opts = o;
  opts.layer.owner = {1, 1};
  EXPECT_TRUE(differs(entries, opts));
  opts = o;
  opts.layer.mtime = 1;
  EXPECT_TRUE(differs(entries, opts));
  opts = o;
  opts.layer.prefix = "/opt/other";
  EXPECT_TRUE(differs(entries, opts));
  // Host files are identified by the callback (the package's sha256 and inner path).
  InstallEntry host = bytes("opt/conda/c", "");
  host.source = InstallEntry::Source::HostFile;
  host.host_path = "/somewhere/pkg/c";
  host.size = 3;
  auto k1 = layer_key(std::vector<InstallEntry>{host}, o,
                      [](const InstallEntry&) -> Result<std::string> { return "x/c"; });
  auto k2 = layer_key(std::vector<InstallEntry>{host}, o,
                      [](const InstallEntry&) -> Result<std::string> { return "y/c"; });
  ASSERT_TRUE(k1 && k2);
  EXPECT_NE(*k1, *k2);
  EXPECT_FALSE(layer_key(std::vector<InstallEntry>{host}, o, no_host_files));
}

TEST(LayerCache, StoresAndFindsLayers) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  LayerCache cache(dir->path() / "layers");
  auto key = Digest::of("key");
  auto miss = cache.find(key);
  ASSERT_TRUE(miss);
  EXPECT_FALSE(*miss);

  auto layer = entries_layer({bytes("opt/conda/a", std::string(5000, 'a'))}, {});
  ASSERT_TRUE(layer);
  auto put = cache.put(key, **layer, Compression::Gzip);
  ASSERT_TRUE(put) << put.error().to_string();
  EXPECT_EQ(put->tar_size, *(*layer)->tar_size());
  fs::path blob_file = dir->path() / "layers/blobs/sha256" / put->blob.digest.hex();
  EXPECT_TRUE(fs::exists(blob_file));
  // Read-only: outputs hard-link cached blobs, so none may be edited in place.
  EXPECT_EQ(fs::status(blob_file).permissions(),
            fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  auto hit = cache.find(key);
  ASSERT_TRUE(hit && *hit);
  EXPECT_EQ((*hit)->blob.digest, put->blob.digest);
  EXPECT_EQ((*hit)->diff_id, put->diff_id);
  EXPECT_EQ((*hit)->layer->blob()->digest, put->blob.digest);
  auto listed = oci::list_layer(*(*hit)->layer);
  ASSERT_TRUE(listed) << listed.error().to_string();
  EXPECT_EQ(listed->back().path, "opt/conda/a");

  // No temp files are left; a truncated blob is a miss, not a corrupt layer.
  for (const auto& e : fs::recursive_directory_iterator(dir->path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  // A key file whose sizes are not whole numbers in range is a miss (never cast: undefined
  // behaviour).
  const fs::path key_file = dir->path() / "layers/keys" / (key.hex() + ".json");
  auto good_key = read_file(key_file);
  ASSERT_TRUE(good_key);
  for (auto [field, value] : {std::pair{"size", "1e300"}, std::pair{"size", "-1"},
                              std::pair{"tar_size", "2.5"}}) {
    auto doc = nlohmann::json::parse(*good_key);
    doc[field] = nlohmann::json::parse(value);
    ASSERT_TRUE(write_file_atomic(key_file, doc.dump()));
    auto found = cache.find(key);
    ASSERT_TRUE(found);
    EXPECT_FALSE(*found) << field << " = " << value;
  }
  ASSERT_TRUE(write_file_atomic(key_file, *good_key));
  auto again = cache.find(key);
  ASSERT_TRUE(again && *again);
  fs::permissions(blob_file, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(blob_file, 10);
  auto truncated = cache.find(key);
  ASSERT_TRUE(truncated);
  EXPECT_FALSE(*truncated);
}

TEST(LayerGroupKey, ChangesWithEveryMemberAndOption) {
  const std::vector<LayerGroupMember> two = {{"a-1.0-0", "sha-a", Digest::of("plan a")},
                                             {"b-1.0-0", "sha-b", Digest::of("plan b")}};
  const LayerKeyOptions options{.layer = {.prefix = "/opt/conda"}};
  const Digest base = layer_group_key(two, options);
  EXPECT_EQ(layer_group_key(two, options), base);
  std::set<Digest> seen{base};
  auto differs = [&](std::vector<LayerGroupMember> members, LayerKeyOptions o, const char* what) {
    EXPECT_TRUE(seen.insert(layer_group_key(members, o)).second) << what;
  };
  auto edit = [&](auto change) {
    auto members = two;
    change(members[1]);
    return members;
  };
  differs(edit([](auto& m) { m.dist = "b-1.0-1"; }), options, "dist name");
  differs(edit([](auto& m) { m.content = "sha-c"; }), options, "package bytes");
  differs(edit([](auto& m) { m.plan = Digest::of("plan c"); }), options, "planned entries");
  differs({two[1], two[0]}, options, "order");
  differs({two[0]}, options, "members");
  auto o = options;
  o.compression = Compression::Zstd;
  differs(two, o, "compression");
  o = options;
  o.layer.prefix = "/srv/env";
  differs(two, o, "prefix");
  o = options;
  o.layer.owner = {1000, 1000};
  differs(two, o, "owner");
  o = options;
  o.layer.mtime = 1;
  differs(two, o, "mtime");
  // Never a layer key itself: an alias names another key file.
  std::vector<InstallEntry> none;
  EXPECT_NE(layer_key(none, options, [](const InstallEntry&) -> Result<std::string> { return ""; })
                .value(),
            layer_group_key({}, options));
}

TEST(LayerCache, GroupMemosNameALayerAndItsKey) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  LayerCache cache(dir->path() / "layers");
  auto layer = entries_layer({bytes("opt/conda/a", "a")}, {});
  ASSERT_TRUE(layer);
  const Digest key = Digest::of("layer key"), alias = Digest::of("group memo");
  auto put = cache.put(key, **layer, Compression::Gzip);
  ASSERT_TRUE(put) << put.error().to_string();
  auto none = cache.find_alias(alias);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(cache.record_alias(alias, key, *put));
  auto found = cache.find_alias(alias);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->key, key);
  EXPECT_EQ((*found)->layer.blob.digest, put->blob.digest);
  // A layer key is no alias.
  auto plain = cache.find_alias(key);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(*plain);
  // Its blob gone, the memo is a miss.
  fs::remove(dir->path() / "layers/blobs/sha256" / put->blob.digest.hex());
  auto gone = cache.find_alias(alias);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

}  // namespace
}  // namespace de::build
