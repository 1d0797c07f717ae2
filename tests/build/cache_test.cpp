// `docker-envs cache`: SIZE / DURATION parsing, least-recently-used order, the inventory of every
// kind, and a prune that keeps what running builds use.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "docker_envs/base/cache_use.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/build/cache.hpp"

namespace de::build {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(CacheUnits, Sizes) {
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_EQ(*parse_size("123"), 123u);
  EXPECT_EQ(*parse_size("123B"), 123u);
  EXPECT_EQ(*parse_size("10G"), 10ull << 30);
  EXPECT_EQ(*parse_size("10g"), 10ull << 30);
  EXPECT_EQ(*parse_size("500MiB"), 500ull << 20);
  EXPECT_EQ(*parse_size("1.5GB"), 1'500'000'000ull);
  EXPECT_EQ(*parse_size("1kb"), 1000u);
  EXPECT_EQ(*parse_size("2T"), 2ull << 40);
  for (std::string_view bad : {"", "G", "10X", "-1", "1.2.3", "10 G", "1e3", "99999999999T"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message().find(std::string(bad)), std::string::npos);
    }
  }
  EXPECT_NE(parse_size("10X").error().message().find("500MiB"), std::string::npos);
}

TEST(CacheUnits, Durations) {
  EXPECT_EQ(*parse_duration("7d"), 7 * 24h);
  EXPECT_EQ(*parse_duration("12h"), 12h);
  EXPECT_EQ(*parse_duration("30m"), 30min);
  EXPECT_EQ(*parse_duration("45s"), 45s);
  EXPECT_EQ(*parse_duration("2w"), 14 * 24h);
  EXPECT_EQ(*parse_duration("1d12h"), 36h);
  EXPECT_EQ(*parse_duration("1.5h"), 90min);
  for (std::string_view bad : {"", "7", "d", "7x", "-1d", "7d3"}) {
    auto r = parse_duration(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message().find("7d"), std::string::npos);
    }
  }
}

CacheEntry entry(std::string name, std::uint64_t bytes, CacheClock::time_point used) {
  return CacheEntry{.kind = CacheKind::Layers, .name = std::move(name), .bytes = bytes,
                    .last_use = used};
}

std::vector<std::string> selected(std::span<const CacheEntry> entries, const PruneOptions& o,
                                  CacheClock::time_point now, std::string busy = "") {
  std::vector<std::string> out;
  select_for_prune(entries, o, now, [&](const CacheEntry& e) {
    out.push_back(e.name);
    return e.name != busy;
  });
  return out;
}

TEST(CachePrune, LeastRecentlyUsedFirstUntilItFits) {
  auto now = CacheClock::now();
  std::vector<CacheEntry> entries = {entry("new", 10, now - 1h), entry("old", 10, now - 72h),
                                     entry("mid", 10, now - 24h), entry("older", 10, now - 96h)};
  using V = std::vector<std::string>;
  EXPECT_EQ(selected(entries, {.max_size = 40}, now), V{});
  EXPECT_EQ(selected(entries, {.max_size = 25}, now), (V{"older", "old"}));
  EXPECT_EQ(selected(entries, {.max_size = 0}, now), (V{"older", "old", "mid", "new"}));
  // An entry in use stays and still counts: the next one goes instead.
  EXPECT_EQ(selected(entries, {.max_size = 25}, now, "older"), (V{"older", "old", "mid"}));
  EXPECT_EQ(selected(entries, {.older_than = 48h}, now), (V{"older", "old"}));
  EXPECT_EQ(selected(entries, {.all = true}, now), (V{"older", "old", "mid", "new"}));
  // Both: the old ones, then more until it fits.
  EXPECT_EQ(selected(entries, {.max_size = 15, .older_than = 80h}, now),
            (V{"older", "old", "mid"}));
}

void write(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  ASSERT_TRUE(write_file_atomic(p, bytes));
}

// Makes a file or directory look last touched `age` ago (entry and stamp).
void age(const fs::path& p, std::chrono::seconds by) {
  fs::last_write_time(p, fs::file_time_type::clock::now() - by);
}

const std::string kHex(64, 'a'), kHex2(64, 'b'), kMemo = std::string(64, 'c') + ".json";
// An image memo naming the layer blob kHex (as build/image_memo.cpp writes them).
const std::string kMemoText = R"({"layers": [{"digest": "sha256:)" + kHex + R"("}]})";

// A root with one entry of every kind, all last used two days ago.
fs::path make_root(const fs::path& root) {
  write(root / "pkgs/downloads/a-1-0.conda", "12345");
  write(root / "pkgs/downloads/a-1-0.conda.lock", "");
  write(root / "pkgs/a-1-0-0123456789abcdef/info/index.json", "{}");
  write(root / "pkgs/a-1-0-0123456789abcdef/lib/x", "xxxxxxxxxx");
  write(root / ("layers/blobs/sha256/" + kHex), std::string(100, 'l'));
  write(root / "pkgs/wheels/downloads/w-1-py3-none-any.whl", "wheel");
  write(root / "pkgs/wheels/w-1-py3-none-any-0123456789abcdef/w/__init__.py", "");
  // As the layer cache writes them: the tar's diff_id first, then the blob's digest.
  write(root / "layers/keys/k.json", R"({"diff_id":"sha256:)" + std::string(64, 'd') +
                                         R"(","digest":"sha256:)" + kHex + R"(","size":100})");
  write(root / "layers/plans/p.plan", "plan");
  write(root / "layers/images" / kMemo, kMemoText);
  write(root / "repodata/channels/c.json", "{}");
  write(root / "repodata/channels/c.state.json", "{}");
  write(root / "repodata/parsed/c.bin", "bin");
  write(root / ("blobs/sha256/" + kHex2), "blob");
  write(root / "builds/r.json", "record");
  write(root / ("builds/" + temp_file_name("s.json")), "a killed build's temp file");
  for (const char* p : {"pkgs/downloads/a-1-0.conda", "pkgs/a-1-0-0123456789abcdef",
                        "pkgs/wheels/downloads/w-1-py3-none-any.whl",
                        "pkgs/wheels/w-1-py3-none-any-0123456789abcdef",
                        "layers/plans/p.plan", "repodata/channels/c.json", "repodata/parsed/c.bin",
                        "builds/r.json"})
    age(root / p, 48h);
  age(root / ("layers/blobs/sha256/" + kHex), 48h);
  age(root / ("blobs/sha256/" + kHex2), 48h);
  age(root / "layers/images" / kMemo, 48h);
  return root;
}

TEST(CacheInventory, EveryKindWithSizesAndLastUse) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = make_root(dir->path() / "cache");
  // A recorded use makes the plan the most recent entry.
  { auto use = EntryUse::begin(root / "layers/plans", "p.plan"); ASSERT_TRUE(use.recorded()); }
  auto inv = list_cache(root);
  ASSERT_TRUE(inv) << inv.error().to_string();
  ASSERT_EQ(inv->entries.size(), 11u);
  EXPECT_EQ(inv->entries[0].name, "layers/plans/p.plan");
  EXPECT_GT(inv->entries[0].last_use, CacheClock::now() - 1h);
  std::map<std::string, std::uint64_t> bytes;
  for (auto& e : inv->entries) bytes[std::string(cache_kind_name(e.kind))] += e.bytes;
  EXPECT_EQ(bytes["packages"], 5u);
  EXPECT_EQ(bytes["extracted"], 12u);  // pkgs/wheels/ is not an extracted package
  EXPECT_EQ(bytes["wheels"], 5u);        // a download and an (empty) extracted wheel
  EXPECT_EQ(bytes["layers"], 100u);
  EXPECT_EQ(bytes["plans"], 4u);
  EXPECT_EQ(bytes["images"], kMemoText.size());
  EXPECT_EQ(bytes["repodata"], 4u);  // the document and its .state.json
  EXPECT_EQ(bytes["solver"], 3u);
  EXPECT_EQ(bytes["blobs"], 4u);
  EXPECT_EQ(bytes["builds"], 6u);  // not the temp file
  EXPECT_EQ(inv->entry_bytes, 143u + kMemoText.size());
  auto none = list_cache(dir->path() / "absent");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->entries.empty());
}

TEST(CachePruneDisk, AMemoGoesWithABlobItNames) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = make_root(dir->path() / "cache");
  // The memo was used recently (not selected by --older-than); its blob was not.
  { auto use = EntryUse::begin(root / "layers/images", kMemo); ASSERT_TRUE(use.recorded()); }
  age(root / "layers/images" / kMemo, 0h);
  auto pruned = prune_cache(root, {.older_than = 24h});
  ASSERT_TRUE(pruned) << pruned.error().to_string();
  EXPECT_FALSE(fs::exists(root / ("layers/blobs/sha256/" + kHex)));
  EXPECT_FALSE(fs::exists(root / "layers/images" / kMemo));
}

TEST(CachePruneDisk, ALayerKeyStaysWithItsBlobAndGoesWithIt) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = make_root(dir->path() / "cache");
  {
    auto use = EntryUse::begin(root / "layers", kHex);
    ASSERT_TRUE(use.recorded());
  }
  age(root / ("layers/blobs/sha256/" + kHex), 0h);
  auto kept = prune_cache(root, {.older_than = 24h});
  ASSERT_TRUE(kept) << kept.error().to_string();
  EXPECT_TRUE(fs::exists(root / ("layers/blobs/sha256/" + kHex)));
  EXPECT_TRUE(fs::exists(root / "layers/keys/k.json"));
  fs::remove(root / ("layers/blobs/sha256/" + kHex));
  auto again = prune_cache(root, {.older_than = 24h});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(fs::exists(root / "layers/keys/k.json"));
}

TEST(CachePruneDisk, KeepsWhatRunningBuildsUse) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path root = make_root(dir->path() / "cache");
  // A running build (its lease taken before the uses below) that has used the extracted package,
  // and another that is looking a download up right now (its stamp lock held).
  auto lease = CacheLease::acquire(root);
  ASSERT_TRUE(lease) << lease.error().to_string();
  { auto use = EntryUse::begin(root / "pkgs", "a-1-0-0123456789abcdef"); }
  auto holding = EntryUse::begin(root / "pkgs", "downloads/a-1-0.conda");
  ASSERT_TRUE(holding.recorded());
  // A lease left by a process that died.
  write(root / ".leases/999999-0", "");

  auto pruned = prune_cache(root, {.max_size = 0});
  ASSERT_TRUE(pruned) << pruned.error().to_string();
  EXPECT_EQ(pruned->stale_leases, 1);
  std::vector<std::string> kept;
  for (auto& e : pruned->in_use) kept.push_back(e.name);
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"pkgs/a-1-0-0123456789abcdef",
                                            "pkgs/downloads/a-1-0.conda"}));
  EXPECT_EQ(pruned->removed.size(), 9u);
  EXPECT_EQ(pruned->bytes_left, 17u);
  EXPECT_TRUE(fs::exists(root / "pkgs/a-1-0-0123456789abcdef/lib/x"));
  EXPECT_TRUE(fs::exists(root / "pkgs/downloads/a-1-0.conda"));
  for (const std::string& p : std::vector<std::string>{
           "layers/blobs/sha256/" + kHex, "layers/keys/k.json", "layers/plans/p.plan",
           "layers/images/" + kMemo, "repodata/channels/c.json", "repodata/channels/c.state.json",
           "repodata/parsed/c.bin", "blobs/sha256/" + kHex2, "builds/r.json"})
    EXPECT_FALSE(fs::exists(root / p)) << p;
  EXPECT_FALSE(fs::exists(root / ".leases/999999-0"));
  EXPECT_TRUE(fs::exists(lease->path()));

  // Once the builds are done (and a moment has passed), everything goes.
  holding = EntryUse::begin(dir->path() / "elsewhere", "x");
  lease = CacheLease::acquire(dir->path() / "elsewhere");
  age(root / "pkgs/a-1-0-0123456789abcdef", 48h);
  age(root / "pkgs/downloads/a-1-0.conda", 48h);
  age(root / "pkgs/.used/a-1-0-0123456789abcdef", 48h);
  age(root / "pkgs/.used/downloads/a-1-0.conda", 48h);
  auto all = prune_cache(root, {.all = true});
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->removed.size(), 2u);
  EXPECT_TRUE(all->in_use.empty());
  auto inv = list_cache(root);
  ASSERT_TRUE(inv);
  EXPECT_TRUE(inv->entries.empty());
  EXPECT_FALSE(fs::exists(root / "pkgs/.used/a-1-0-0123456789abcdef"));
}

}  // namespace
}  // namespace de::build
