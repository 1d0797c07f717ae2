#include "docker_envs/conda/repodata.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "support/testdata.hpp"

namespace de::conda {
namespace {

const PackageRecord* find(const Repodata& r, std::string_view fn) {
  for (const auto& rec : r.records)
    if (rec.fn == fn) return &rec;
  return nullptr;
}

TEST(PackageRecord, HashesAndNames) {
  auto md5 = Md5Hash::from_hex("D7C89558BA9FA0495403155B64376D81");
  ASSERT_TRUE(md5);
  EXPECT_EQ(md5->hex(), "d7c89558ba9fa0495403155b64376d81");
  EXPECT_FALSE(Md5Hash::from_hex("xyz"));
  EXPECT_FALSE(Md5Hash::from_hex("g7c89558ba9fa0495403155b64376d81"));
  EXPECT_EQ(strip_package_extension("a-1-0.tar.bz2"), "a-1-0");
  EXPECT_EQ(strip_package_extension("a-1-0.conda"), "a-1-0");
  EXPECT_EQ(*package_format_of("a-1-0.conda"), PackageFormat::Conda);
  EXPECT_FALSE(package_format_of("a-1-0.zip"));
  PackageRecord r;
  r.timestamp = 1716314536803;
  EXPECT_EQ(*r.timestamp_seconds(), 1716314536);
  r.timestamp = 1578324546;
  EXPECT_EQ(*r.timestamp_seconds(), 1578324546);
}

TEST(PackageRecord, ParsesIndexJson) {
  auto r = parse_index_json(R"({"name":"zlib","version":"1.2.11","build":"h7b6447c_3",
      "build_number":3,"depends":["libgcc-ng >=7.3.0"],"noarch":null,"subdir":"linux-64",
      "license":"zlib","timestamp":1542640894016})",
                            "index.json");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->dist_name(), "zlib-1.2.11-h7b6447c_3");
  EXPECT_EQ(r->build_number, 3);
  EXPECT_EQ(r->depends, std::vector<std::string>{"libgcc-ng >=7.3.0"});
  auto bad =
      parse_index_json(R"({"name":"x","version":"1","depends":"oops"})", "pkg/info/index.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("pkg/info/index.json"), std::string::npos);
  auto noarch = parse_index_json(R"({"name":"x","version":"1","build":"0","noarch":true})", "i");
  ASSERT_TRUE(noarch);
  EXPECT_EQ(noarch->noarch, NoarchKind::Generic);
}

TEST(Repodata, V1WithNullsRemovedAndMalformed) {
  std::string json = R"({
    "info": {"subdir": "linux-64"},
    "repodata_version": 1,
    "packages": {
      "a-1.0-0.tar.bz2": {"name":"a","version":"1.0","build":"0","build_number":0,
          "depends":["b >=2"],"constrains":null,"license":null,"md5":"d7c89558ba9fa0495403155b64376d81",
          "sha256":"fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726","size":2562,
          "timestamp":1578324546,"track_features":"","noarch":"python","subdir":"linux-64"},
      "a-1.0-0x.tar.bz2": {"name":"a","version":"1.0","build":"0x","depends":"not-a-list"},
      "nov-1-0.tar.bz2": {"name":"nov","build":"0"},
      "bad-hash-1-0.tar.bz2": {"name":"bad-hash","version":"1","build":"0","sha256":"abc"},
      "notobj-1-0.tar.bz2": 17,
      "dup-1-0.tar.bz2": {"name":"dup","version":"1","build":"0"},
      "b-2-0.tar.bz2": {"name":"b","version":"2","build":"0","size":-1},
      "c-3-1.tar.bz2": {"name":"c","version":"3","build":"1","build_number":1,"weird":[1,{"x":2}]}
    },
    "packages.conda": {
      "dup-1-0.conda": {"name":"dup","version":"1","build":"0"}
    },
    "removed": ["gone-1-0.tar.bz2"]
  })";
  auto r = Repodata::parse(
      json,
      {.channel = "conda-forge", .subdir_url = "https://conda.anaconda.org/conda-forge/linux-64/"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->subdir, "linux-64");
  EXPECT_EQ(r->skipped, 5u);
  ASSERT_EQ(r->skip_reasons.size(), 5u);
  EXPECT_EQ(r->skip_reasons[0], "packages/a-1.0-0x.tar.bz2: 'depends' must be a list of strings");
  EXPECT_EQ(r->skip_reasons[1], "packages/nov-1-0.tar.bz2: no version");
  EXPECT_EQ(r->removed, std::vector<std::string>{"gone-1-0.tar.bz2"});
  EXPECT_EQ(r->superseded_tar_bz2, 1u);
  ASSERT_EQ(r->records.size(), 3u);
  const auto* a = find(*r, "a-1.0-0.tar.bz2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->noarch, NoarchKind::Python);
  EXPECT_EQ(a->channel, "conda-forge");
  EXPECT_EQ(a->md5->hex(), "d7c89558ba9fa0495403155b64376d81");
  EXPECT_EQ(a->sha256->hex(), "fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726");
  EXPECT_EQ(*a->size, 2562u);
  EXPECT_TRUE(a->license.empty());
  EXPECT_EQ(r->url_for(*a), "https://conda.anaconda.org/conda-forge/linux-64/a-1.0-0.tar.bz2");
  EXPECT_TRUE(find(*r, "dup-1-0.conda"));
  EXPECT_FALSE(find(*r, "dup-1-0.tar.bz2"));
  EXPECT_TRUE(find(*r, "c-3-1.tar.bz2"));

  auto keep = Repodata::parse(json, {.keep_tar_bz2_duplicates = true});
  ASSERT_TRUE(keep);
  EXPECT_EQ(keep->records.size(), 4u);
}

// Issue 13 (fuzzing): a floating-point timestamp or build number outside the int64 range was
// converted to an integer anyway (undefined behaviour). Such a record is skipped with a reason.
TEST(Repodata, OutOfRangeNumbersAreRefused) {
  auto r = Repodata::parse(R"({"packages": {
      "a-1-0.tar.bz2": {"name":"a","version":"1","build":"0","timestamp":7e97},
      "b-1-0.tar.bz2": {"name":"b","version":"1","build":"0","timestamp":-7e97},
      "c-1-0.tar.bz2": {"name":"c","version":"1","build":"0","build_number":1e300},
      "d-1-0.tar.bz2": {"name":"d","version":"1","build":"0","timestamp":9223372036854775808.0},
      "e-1-0.tar.bz2": {"name":"e","version":"1","build":"0","timestamp":1.7e12,"build_number":2.0}
    }})",
                           {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->skipped, 4u);
  for (auto& reason : r->skip_reasons)
    EXPECT_NE(reason.find("is out of range"), std::string::npos) << reason;
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->records[0].timestamp, 1700000000000);
  EXPECT_EQ(r->records[0].build_number, 2);
  // The legacy flat form the fuzzer found it with.
  EXPECT_TRUE(Repodata::parse(R"({".tar.bz2":{"timestamp":7e97}})", {}));
  auto index = parse_index_json(R"({"name":"x","version":"1","build":"0","timestamp":7e97})", "i");
  ASSERT_FALSE(index);
  EXPECT_NE(index.error().to_string().find("out of range"), std::string::npos);
}

TEST(Repodata, BrokenJsonFailsWithName) {
  auto r =
      Repodata::parse(R"({"packages": {"a-1-0.tar.bz2": {"name": "a", )", {}, "x/repodata.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption);
  EXPECT_NE(r.error().to_string().find("x/repodata.json"), std::string::npos);
  EXPECT_FALSE(Repodata::parse("[1,2]", {}));
  EXPECT_FALSE(Repodata::load("/nonexistent/repodata.json", {}));
}

TEST(Repodata, V2BaseUrl) {
  std::string json = R"({"info":{"subdir":"linux-64","base_url":"../../mirror/linux-64/"},
    "repodata_version":2,"packages.conda":{"x-1-0.conda":{"name":"x","version":"1","build":"0"}}})";
  auto r = Repodata::parse(json, {.subdir_url = "https://h.example/ch/linux-64"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repodata_version, 2);
  EXPECT_EQ(r->base_url, "https://h.example/mirror/linux-64");
  EXPECT_EQ(r->url_for(r->records.at(0)), "https://h.example/mirror/linux-64/x-1-0.conda");
  EXPECT_EQ(resolve_url("https://a/b/c", "https://d/e/"), "https://d/e");
  EXPECT_EQ(resolve_url("https://a/b/c", "/x/y"), "https://a/x/y");
  EXPECT_EQ(resolve_url("file:///srv/ch/noarch", "../linux-64"), "file:///srv/ch/linux-64");
  EXPECT_EQ(resolve_url("https://a/b", "../../../x"), "https://a/x");
}

TEST(Repodata, RealFiles) {
  DE_REQUIRE_TESTDATA();
  auto dir = test::testdata_dir() / "conda-solver/repodata";
  {
    auto r = Repodata::load(dir / "mamba/conda-forge-repodata-version-2.json",
                            {.subdir_url = "https://conda.anaconda.org/conda-forge/linux-64"});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->base_url, "https://repo.anaconda.com/repo/main/linux-64");
    ASSERT_EQ(r->records.size(), 2u);
    const auto* mutex = find(*r, "_libgcc_mutex-0.1-conda_forge.tar.bz2");
    ASSERT_TRUE(mutex);
    EXPECT_TRUE(mutex->depends.empty());
    EXPECT_EQ(
        mutex->url,
        "https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2");
  }
  {
    auto r = Repodata::load(dir / "mamba/conda-forge-repodata-version-2-missing-base_url.json",
                            {.subdir_url = "https://conda.anaconda.org/conda-forge/linux-64"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->base_url, "https://conda.anaconda.org/conda-forge/linux-64");
  }
  {
    auto r = Repodata::load(dir / "conda/defaults-r_linux-64.json", {});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->records.size(), 4211u);
    EXPECT_EQ(r->skipped, 0u);
    EXPECT_EQ(r->removed.size(), 1u);
  }
  {
    auto r = Repodata::load(dir / "rattler/dummy-linux-64-repodata.json",
                            {.subdir_url = "file:///srv/dummy/linux-64"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->base_url, "file:///srv/dummy/linux-64");
    EXPECT_GT(r->superseded_tar_bz2, 0u);
    EXPECT_EQ(r->records.size() + r->superseded_tar_bz2, 29u);
    EXPECT_TRUE(find(*r, "foo-3.0.2-py36h1af98f8_1.conda"));
    EXPECT_FALSE(find(*r, "foo-3.0.2-py36h1af98f8_1.tar.bz2"));
  }
  {
    auto r = Repodata::load(dir / "conda/index.json", {});  // legacy flat form
    ASSERT_TRUE(r);
    EXPECT_GT(r->records.size(), 500u);
  }
  for (auto name :
       {"mamba/sudoku.json", "mamba/conda-forge-numpy-linux-64.json",
        "rattler/pytorch-linux-64-repodata.json", "rattler/with-wheels__noarch__repodata.json",
        "conda/defaults-main_noarch.json", "conda/index2.json", "conda/index4.json",
        "conda-sharded/linux-64/repodata.json"}) {
    auto r = Repodata::load(dir / name, {});
    ASSERT_TRUE(r) << name << ": " << r.error().to_string();
    EXPECT_GT(r->records.size(), 0u) << name;
    EXPECT_EQ(r->skipped, 0u) << name << ": "
                              << (r->skip_reasons.empty() ? "" : r->skip_reasons[0]);
  }
}

// Records are parsed on several threads in chunks: order, skipped records and .tar.bz2 twins must
// come out as a one-record-at-a-time parse would give them, across chunk boundaries.
TEST(Repodata, ManyRecordsKeepOrderSkipsAndTwins) {
  std::string json = R"({"info":{"subdir":"noarch"},"packages":{)";
  const int kRecords = 5000;
  for (int i = 0; i < kRecords; ++i) {
    if (i) json += ",";
    if (i % 97 == 5) {
      json += fmt::format(R"("bad{0}-1-0.tar.bz2":{{"name":"bad{0}","version":"1","build":"0",)"
                          R"("depends":5}})",
                          i);
      continue;
    }
    json += fmt::format(R"("p{0}-1-0.tar.bz2":{{"name":"p{0}","version":"1","build":"0"}})", i);
  }
  json += R"(},"packages.conda":{)";
  // .conda twins of every third package; the twin of p3 is malformed, so p3.tar.bz2 stays.
  bool first = true;
  for (int i = 0; i < kRecords; i += 3) {
    if (i % 97 == 5) continue;
    json += first ? "" : ",";
    first = false;
    if (i == 3)
      json += R"("p3-1-0.conda":{"name":"p3","version":"1","build":"0","size":-1})";
    else
      json += fmt::format(R"("p{0}-1-0.conda":{{"name":"p{0}","version":"1","build":"0"}})", i);
  }
  json += "}}";
  auto r = Repodata::parse(json, {.channel = "ch"});
  ASSERT_TRUE(r) << r.error().to_string();
  std::vector<std::string> expected;
  std::size_t bad = 0, twins = 0;
  for (int i = 0; i < kRecords; ++i) {
    if (i % 97 == 5) {
      ++bad;
      continue;
    }
    if (i % 3 != 0 || i == 3)
      expected.push_back(fmt::format("p{}-1-0.tar.bz2", i));
    else
      ++twins;
  }
  for (int i = 0; i < kRecords; i += 3)
    if (i % 97 != 5 && i != 3) expected.push_back(fmt::format("p{}-1-0.conda", i));
  std::vector<std::string> got;
  for (const auto& rec : r->records) {
    got.push_back(rec.fn);
    EXPECT_EQ(rec.channel, "ch");
    EXPECT_EQ(rec.subdir, "noarch");
    EXPECT_EQ(rec.fn, rec.dist_name() + (rec.fn.ends_with(".conda") ? ".conda" : ".tar.bz2"));
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(r->superseded_tar_bz2, twins);
  EXPECT_EQ(r->skipped, bad + 1);  // + the malformed p3.conda
  ASSERT_FALSE(r->skip_reasons.empty());
  EXPECT_TRUE(r->skip_reasons[0].starts_with("packages/bad5-1-0.tar.bz2: ")) << r->skip_reasons[0];

  auto keep = Repodata::parse(json, {.keep_tar_bz2_duplicates = true});
  ASSERT_TRUE(keep);
  EXPECT_EQ(keep->superseded_tar_bz2, 0u);
  EXPECT_EQ(keep->records.size(), expected.size() + twins);
}

// Twins are matched by the unescaped file name, whatever order the keys come in; a .tar.bz2 whose
// .conda twin is malformed keeps its place in document order.
TEST(Repodata, TwinsMatchUnescapedKeysInAnyOrder) {
  std::string json = R"({"packages":{
      "e\u0073c-1-0.tar.bz2": {"name":"esc","version":"1","build":"0"},
      "z-1-0.tar.bz2": {"name":"z","version":"1","build":"0"},
      "a-1-0.tar.bz2": {"name":"a","version":"1","build":"0"},
      "a-1-0_1.tar.bz2": {"name":"a","version":"1","build":"0_1"}},
    "packages.conda":{
      "a-1-0_1.conda": {"name":"a","version":"1","build":"0_1"},
      "a-1-0.conda": {"name":"a","version":"1","build":"0"},
      "esc-1-0.conda": {"name":"esc","version":"1","build":"0"},
      "z-1-0.conda": {"name":"z","version":"1"}}})";
  auto r = Repodata::parse(json, {});
  ASSERT_TRUE(r) << r.error().to_string();
  std::vector<std::string> got;
  for (const auto& rec : r->records) got.push_back(rec.fn);
  EXPECT_EQ(got, (std::vector<std::string>{"z-1-0.tar.bz2", "a-1-0_1.conda", "a-1-0.conda",
                                           "esc-1-0.conda"}));
  EXPECT_EQ(r->superseded_tar_bz2, 3u);
  ASSERT_EQ(r->skip_reasons, std::vector<std::string>{"packages.conda/z-1-0.conda: no build string"});
}

// Generates a conda-forge-like document and reports the parse rate (not asserted tightly: CI
// machines differ; the bench measures it properly).
TEST(Repodata, ParsesFast) {
  std::string json = R"({"info":{"subdir":"linux-64"},"packages":{)";
  const int kRecords =
      std::getenv("DE_REPODATA_RECORDS") ? std::atoi(std::getenv("DE_REPODATA_RECORDS")) : 40000;
  for (int i = 0; i < kRecords; ++i) {
    if (i) json += ",";
    json += fmt::format(
        R"("pkg{0}-1.{0}.0-py311h{0:08x}_0.tar.bz2":{{"build":"py311h{0:08x}_0","build_number":0,)"
        R"("depends":["libgcc-ng >=12","python >=3.11,<3.12.0a0","python_abi 3.11.* *_cp311","numpy >=1.23"],)"
        R"("constrains":["foo >=2"],"license":"BSD-3-Clause","license_family":"BSD","md5":"d7c89558ba9fa0495403155b64376d81",)"
        R"("name":"pkg{0}","sha256":"fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726",)"
        R"("size":{0},"subdir":"linux-64","timestamp":1699279927000,"version":"1.{0}.0"}})",
        i);
  }
  json += "}}";
  auto warm = Repodata::parse(json, {});  // first touch of the allocator's pages is not the parser
  ASSERT_TRUE(warm);
  warm->records.clear();
  auto start = std::chrono::steady_clock::now();
  auto r = Repodata::parse(json, {});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->records.size(), static_cast<std::size_t>(kRecords));
  double mb = static_cast<double>(json.size()) / 1e6;
  RecordProperty("MBps", std::to_string(mb / seconds));
  std::printf("parsed %.1f MB in %.3f s (%.0f MB/s)\n", mb, seconds, mb / seconds);
}

}  // namespace
}  // namespace de::conda
