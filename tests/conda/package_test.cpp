#include "docker_envs/conda/package.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "docker_envs/conda/package_cache.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using test::Entry;

TempDir temp() {
  auto d = TempDir::create();
  EXPECT_TRUE(d);
  return std::move(*d);
}

TEST(PackagePath, Normalises) {
  EXPECT_EQ(*normalize_package_path("./bin//x"), "bin/x");
  EXPECT_FALSE(normalize_package_path("/etc/passwd"));
  EXPECT_FALSE(normalize_package_path("a/../../x"));
  EXPECT_FALSE(normalize_package_path("./"));
}

class BothFormats : public ::testing::TestWithParam<PackageFormat> {};

TEST_P(BothFormats, ExtractsFilesSymlinksHardlinksAndModes) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.payload = {test::file("bin/tool", "#!/bin/sh\necho hi\n", 0755),
                  test::file("lib/libx.so.1", "ELF"), test::symlink("lib/libx.so", "libx.so.1"),
                  Entry{"lib/libx-copy.so", "lib/libx.so.1", Entry::Hardlink}};
  auto pkg = test::build_package(dir.path(), spec, GetParam());
  ASSERT_TRUE(pkg) << pkg.error().to_string();
  auto out = dir.path() / "out";
  auto st = extract_package(*pkg, out);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(*read_file(out / "bin/tool"), "#!/bin/sh\necho hi\n");
  struct stat s;
  ASSERT_EQ(::stat((out / "bin/tool").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 0777, 0755u);
  EXPECT_EQ(fs::read_symlink(out / "lib/libx.so"), "libx.so.1");
  EXPECT_EQ(*read_file(out / "lib/libx-copy.so"), "ELF");
  EXPECT_TRUE(fs::exists(out / "info/index.json"));
  EXPECT_TRUE(fs::exists(out / "info/paths.json"));
}

TEST_P(BothFormats, RefusesHostileEntries) {
  auto dir = temp();
  struct Case {
    std::string name;
    std::vector<Entry> entries;
    std::string message;
  };
  std::vector<Case> cases = {
      {"dotdot",
       {test::file("info/index.json", "{}"), test::file("../../escape", "x")},
       "'..' refused"},
      {"absolute",
       {test::file("info/index.json", "{}"), test::file("/tmp/de-escape-abs", "x")},
       "absolute path"},
      {"symlink-then-write",
       {test::file("info/index.json", "{}"), test::symlink("lib", "/tmp"),
        test::file("lib/de-escape-sym", "x")},
       "below the symlink 'lib'"},
      {"hardlink-out",
       {test::file("info/index.json", "{}"), Entry{"x", "/etc/passwd", Entry::Hardlink}},
       "absolute path"},
      // Through a link made earlier in the same extraction: a relative one, a directory entry,
      // a hardlink's target.
      {"relative-symlink-then-write",
       {test::file("info/index.json", "{}"), test::symlink("a", "../../../.."),
        test::file("a/de-escape-rel", "x")},
       "below the symlink 'a'"},
      {"symlink-then-dir",
       {test::file("info/index.json", "{}"), test::symlink("lib", "/tmp"),
        Entry{"lib/de-escape-dir", "", Entry::Dir, 0755}},
       "below the symlink 'lib'"},
      {"hardlink-through-symlink",
       {test::file("info/index.json", "{}"), test::symlink("etc", "/etc"),
        Entry{"x", "etc/passwd", Entry::Hardlink}},
       "below the symlink 'etc'"},
  };
  for (const auto& c : cases) {
    auto pkg = test::build_raw(dir.path(), "evil-" + c.name + "-1-0", GetParam(), c.entries);
    ASSERT_TRUE(pkg) << pkg.error().to_string();
    auto out = dir.path() / ("out-" + c.name);
    auto st = extract_package(*pkg, out);
    ASSERT_FALSE(st) << c.name;
    EXPECT_NE(st.error().to_string().find(c.message), std::string::npos) << st.error().to_string();
    EXPECT_NE(st.error().to_string().find("evil-" + c.name), std::string::npos)
        << st.error().to_string();
  }
  EXPECT_FALSE(fs::exists(dir.path() / "escape"));
  EXPECT_FALSE(fs::exists("/tmp/de-escape-abs"));
  EXPECT_FALSE(fs::exists("/tmp/de-escape-sym"));
  EXPECT_FALSE(fs::exists("/tmp/de-escape-dir"));
}

INSTANTIATE_TEST_SUITE_P(Package, BothFormats,
                         ::testing::Values(PackageFormat::Conda, PackageFormat::TarBz2),
                         [](const auto& p) {
                           return p.param == PackageFormat::Conda ? "conda" : "tar_bz2";
                         });

TEST(PackageCache, VerifiesExtractsOnceAndKeysBySha) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.payload = {test::file("share/a.txt", "hello")};
  auto pkg = test::build_package(dir.path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  auto hashes = hash_package_file(*pkg);
  ASSERT_TRUE(hashes);
  PackageCache cache(dir.path() / "cache");
  auto bad = cache.extract(*pkg, {.sha256 = Digest::of("other")});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::Corruption);
  EXPECT_NE(bad.error().to_string().find("tiny-1.0-0.conda: sha256 is"), std::string::npos)
      << bad.error().to_string();
  auto bad_md5 =
      cache.extract(*pkg, {.md5 = *Md5Hash::from_hex("00000000000000000000000000000000")});
  ASSERT_FALSE(bad_md5);
  auto entry =
      cache.extract(*pkg, {.sha256 = hashes->sha256, .md5 = hashes->md5, .size = hashes->size});
  ASSERT_TRUE(entry) << entry.error().to_string();
  EXPECT_EQ(entry->filename().string(), "tiny-1.0-0-" + hashes->sha256.hex().substr(0, 16));
  EXPECT_EQ(*read_file(*entry / "share/a.txt"), "hello");
  auto again = cache.extract(*pkg);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *entry);
  // No temp dirs left behind.
  for (const auto& e : fs::directory_iterator(cache.root()))
    EXPECT_FALSE(e.path().filename().string().starts_with(".tmp-")) << e.path();
}

TEST(PackageCache, AKnownSha256FindsTheEntryWithoutReadingTheFile) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.payload = {test::file("share/a.txt", "hello")};
  auto pkg = test::build_package(dir.path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  auto sha = hash_package_file(*pkg)->sha256;
  PackageCache cache(dir.path() / "cache");
  auto entry = cache.extract(*pkg, {.sha256 = sha});
  ASSERT_TRUE(entry) << entry.error().to_string();
  // The package file is gone: the entry verified against this sha256 is enough, for extract()
  // and for fetch() (no download either).
  fs::remove(*pkg);
  auto again = cache.extract(*pkg, {.sha256 = sha});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, *entry);
  FileFetcher fetcher;
  auto fetched = cache.fetch("https://example.invalid/linux-64/" + pkg->filename().string(),
                             {.sha256 = sha}, fetcher);
  ASSERT_TRUE(fetched) << fetched.error().to_string();
  EXPECT_EQ(*fetched, *entry);
  // Without the hash, the file must be read (and is missing).
  EXPECT_FALSE(cache.extract(*pkg));
  EXPECT_FALSE(cache.extract(*pkg, {.sha256 = Digest::of("other")}));
}

TEST(PackageCache, FailedExtractionLeavesNoEntryAndStaleTempsAreCleared) {
  auto dir = temp();
  auto pkg = test::build_raw(dir.path(), "evil-1-0", PackageFormat::TarBz2,
                             {test::file("info/index.json", "{}"), test::file("../x", "x")});
  ASSERT_TRUE(pkg);
  PackageCache cache(dir.path() / "cache");
  auto hashes = hash_package_file(*pkg);
  fs::create_directories(cache.root() /
                         (".tmp-evil-1-0-" + hashes->sha256.hex().substr(0, 16) + "-crashed"));
  ASSERT_FALSE(cache.extract(*pkg));
  for (const auto& e : fs::directory_iterator(cache.root())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".tmp-")) << e.path();
    EXPECT_FALSE(e.path().filename().string().starts_with("evil-1-0-") &&
                 fs::is_directory(e.path()));
  }
}

TEST(PackageCache, ConcurrentProcessesShareOneEntry) {
  auto dir = temp();
  test::PackageSpec spec;
  for (int i = 0; i < 200; ++i)
    spec.payload.push_back(
        test::file(fmt::format("share/f{}.txt", i), std::string(4096, 'a' + i % 26)));
  auto pkg = test::build_package(dir.path(), spec, PackageFormat::TarBz2);
  ASSERT_TRUE(pkg);
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      PackageCache cache(dir.path() / "cache");
      auto entry = cache.extract(*pkg);
      ::_exit(entry && fs::exists(*entry / "share/f199.txt") ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "cache"))  // .used/: use stamps
    entries += fs::is_directory(e.path()) && !e.path().filename().string().starts_with(".");
  EXPECT_EQ(entries, 1);
}

TEST(PackageCache, FetchesThroughFileUrls) {
  auto dir = temp();
  test::PackageSpec spec;
  spec.payload = {test::file("share/a.txt", "hello")};
  auto pkg = test::build_package(dir.path(), spec, PackageFormat::Conda);
  ASSERT_TRUE(pkg);
  PackageCache cache(dir.path() / "cache");
  FileFetcher fetcher;
  auto entry = cache.fetch(path_to_file_url(*pkg), {}, fetcher);
  ASSERT_TRUE(entry) << entry.error().to_string();
  EXPECT_TRUE(fs::exists(*entry / "share/a.txt"));
}

TEST(PackageCache, FetchAllInParallelKeepsOrderAndReportsErrors) {
  auto dir = temp();
  std::vector<PackageCache::FetchRequest> requests;
  for (int i = 0; i < 6; ++i) {
    test::PackageSpec spec;
    spec.name = fmt::format("p{}", i);
    spec.payload = {test::file("share/n", std::to_string(i))};
    auto pkg =
        test::build_package(dir.path(), spec, i % 2 ? PackageFormat::Conda : PackageFormat::TarBz2);
    ASSERT_TRUE(pkg);
    requests.push_back({path_to_file_url(*pkg), {}});
  }
  PackageCache cache(dir.path() / "cache");
  FileFetcher fetcher;
  auto dirs = cache.fetch_all(requests, fetcher, 3);
  ASSERT_TRUE(dirs) << dirs.error().to_string();
  ASSERT_EQ(dirs->size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(*read_file((*dirs)[i] / "share/n"), std::to_string(i));
  requests[4].expected.sha256 = Digest::of("wrong");
  auto bad = cache.fetch_all(requests, fetcher, 3);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("p4-1.0-0"), std::string::npos) << bad.error().to_string();
}

// Serves file:// URLs as a remote channel would: a stream, no local path to read in place.
class StreamingFetcher final : public Fetcher {
 public:
  Result<std::unique_ptr<Reader>> open(const std::string& url) override { return files_.open(url); }

 private:
  FileFetcher files_;
};

TEST(PackageCache, FetchAllReportsDownloadsInBytes) {
  auto dir = temp();
  std::vector<PackageCache::FetchRequest> requests;
  std::vector<std::uint64_t> sizes;
  std::mt19937_64 random(7);
  for (int i = 0; i < 3; ++i) {
    test::PackageSpec spec;
    spec.name = fmt::format("p{}", i);
    // p1 is 9 MiB of incompressible bytes: reported while it downloads.
    std::string payload(i == 1 ? 9 << 20 : 100, '\0');
    for (auto& c : payload) c = static_cast<char>(random());
    spec.payload = {test::file("share/blob", payload)};
    auto pkg = test::build_package(dir.path(), spec, PackageFormat::Conda);
    ASSERT_TRUE(pkg);
    sizes.push_back(fs::file_size(*pkg));
    auto bytes = read_file(*pkg, 16 << 20);
    ASSERT_TRUE(bytes);
    requests.push_back(
        {path_to_file_url(*pkg), {.sha256 = Digest::of(*bytes), .size = sizes.back()}});
  }
  using State = PackageCache::FetchProgress::State;
  std::vector<PackageCache::FetchProgress> seen;
  std::atomic<int> inside{0};
  auto record = [&](const PackageCache::FetchProgress& p) {
    EXPECT_EQ(inside.fetch_add(1), 0) << "progress called concurrently";
    seen.push_back(p);
    inside.fetch_sub(1);
  };
  PackageCache cache(dir.path() / "cache");
  StreamingFetcher remote;
  ASSERT_TRUE(cache.fetch_all(requests, remote, 3, record));
  std::vector<std::uint64_t> downloaded(3, 0);
  std::vector<std::uint64_t> partial;
  std::vector<int> started(3, 0);
  for (const auto& p : seen) {
    ASSERT_LT(p.index, 3u);
    EXPECT_EQ(p.file_name, fmt::format("p{}-1.0-0.conda", p.index));
    EXPECT_EQ(p.size, sizes[p.index]);
    if (p.state == State::Started) {
      EXPECT_EQ(downloaded[p.index], 0u) << "started after it ended";
      ++started[p.index];
    }
    if (p.state == State::Downloaded) downloaded[p.index] = p.bytes;
    if (p.state == State::Downloading) {
      EXPECT_EQ(p.index, 1u);
      partial.push_back(p.bytes);
    }
    EXPECT_NE(p.state, State::Cached);
  }
  EXPECT_EQ(downloaded, sizes);
  EXPECT_EQ(started, (std::vector<int>{1, 1, 1}));
  // Every 64 KiB (or every write of the copy, when larger): often enough for a display to show a
  // slow download moving; at least once per MiB here.
  ASSERT_GE(partial.size(), sizes[1] / (1 << 20));
  EXPECT_TRUE(std::ranges::is_sorted(partial));
  EXPECT_GE(partial[0], 64u << 10);
  EXPECT_LT(partial.back(), sizes[1]);

  // Again: everything is in the cache (known by sha256), nothing is downloaded.
  seen.clear();
  ASSERT_TRUE(cache.fetch_all(requests, remote, 3, record));
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& p : seen) EXPECT_EQ(p.state, State::Cached);
  // Local files are read in place: never downloads.
  seen.clear();
  FileFetcher local;
  // Local files are read in place: never downloads, and not "from the cache" either (a cold
  // build from a local channel counted them as cached).
  ASSERT_TRUE(PackageCache(dir.path() / "other").fetch_all(requests, local, 3, record));
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& p : seen) EXPECT_EQ(p.state, State::Local);
}

TEST(Package, RealPackagesExtract) {
  DE_REQUIRE_TESTDATA();
  auto root = de::test::testdata_dir() / "conda-packages";
  auto dir = temp();
  int count = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    auto name = e.path().filename().string();
    if (!e.is_regular_file() || !package_format_of(name)) continue;
    auto out = dir.path() / fmt::format("p{}", count++);
    auto st = extract_package(e.path(), out);
    if (e.path().parent_path().filename() == "corrupt") {
      ASSERT_FALSE(st) << name;
      EXPECT_NE(st.error().to_string().find(name), std::string::npos) << st.error().to_string();
      continue;
    }
    ASSERT_TRUE(st) << name << ": " << st.error().to_string();
    EXPECT_TRUE(fs::exists(out / "info")) << name;
  }
  EXPECT_GT(count, 30);
}

}  // namespace
}  // namespace de::conda
