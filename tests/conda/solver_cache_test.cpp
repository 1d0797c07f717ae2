// The parsed-repodata cache: round trip, invalidation when the repodata changes, pruning.
#include "conda/solver_cache.hpp"

#include <gtest/gtest.h>
#include <utime.h>

#include <map>
#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/solver.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;

Repodata sample() {
  Repodata r;
  r.subdir = "linux-64";
  r.base_url = "https://example.org/ch/linux-64";
  r.repodata_version = 2;
  r.skipped = 3;
  PackageRecord a;
  a.name = "a";
  a.version = "1.0";
  a.build = "h1_0";
  a.build_number = 7;
  a.depends = {"b >=2", "conda-forge::c"};
  a.constrains = {"d <3"};
  a.subdir = "linux-64";
  a.noarch = NoarchKind::Python;
  a.fn = "a-1.0-h1_0.conda";
  a.channel = "ch";
  a.md5 = *Md5Hash::from_hex("d7c89558ba9fa0495403155b64376d81");
  a.sha256 = *Digest::from_hex("fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726");
  a.size = 12345;
  a.timestamp = 1716314536803;
  a.license = "MIT";
  a.track_features = "mkl";
  a.python_site_packages_path = "lib/python3.13t/site-packages";
  PackageRecord b;
  b.name = "b";
  b.version = "2";
  b.build = "0";
  b.fn = "b-2-0.conda";
  PackageRecord e = b;
  e.name = "e";
  e.fn = "e-2-0.conda";
  r.records = {a, b, e};
  return r;
}

TEST(SolverCache, RoundTripsEveryField) {
  Repodata r = sample();
  auto c = detail::CachedRepodata::decode(detail::CachedRepodata::encode(r, "key1"), "key1");
  ASSERT_TRUE(c);
  Repodata back = c->materialize_all();
  EXPECT_EQ(back.subdir, r.subdir);
  EXPECT_EQ(back.base_url, r.base_url);
  EXPECT_EQ(back.repodata_version, 2);
  EXPECT_EQ(back.skipped, 3u);
  ASSERT_EQ(back.records.size(), 3u);
  EXPECT_EQ(back.records[0], r.records[0]);
  EXPECT_EQ(back.records[1], r.records[1]);
  // Dependency names per package name, for reachability.
  EXPECT_EQ(c->dependency_names().at("a"), (std::vector<std::string_view>{"b", "c"}));
  // Only the names asked for.
  Repodata some = c->materialize({"b", "zzz"});
  ASSERT_EQ(some.records.size(), 1u);
  EXPECT_EQ(some.records[0].name, "b");
}

TEST(SolverCache, RefusesOtherKeysAndDamage) {
  std::string bytes = detail::CachedRepodata::encode(sample(), "key1");
  EXPECT_FALSE(detail::CachedRepodata::decode(bytes, "key2"));
  EXPECT_FALSE(detail::CachedRepodata::decode("not a cache", "key1"));
  for (std::size_t cut : {bytes.size() / 2, bytes.size() - 9, std::size_t{40}})
    EXPECT_FALSE(detail::CachedRepodata::decode(bytes.substr(0, cut), "key1")) << cut;
}

// solve_environment with a cache directory: the second solve reads the cache (the JSON is gone
// from memory's path: we replace the channel's repodata with one whose key differs, and the new
// content is what the solve sees), and a changed repodata.json invalidates the cache.
TEST(SolverCache, SolveUsesCacheAndNoticesChanges) {
  auto dir = *TempDir::create();
  fs::path ch = dir.path() / "ch";
  fs::create_directories(ch / "linux-64");
  fs::create_directories(ch / "noarch");
  auto write_channel = [&](const std::string& version) {
    nlohmann::json doc = {
        {"info", {{"subdir", "linux-64"}}},
        {"packages.conda",
         {{"a-" + version + "-0.conda",
           {{"name", "a"}, {"version", version}, {"build", "0"}, {"depends", {"b"}}}},
          {"b-1-0.conda", {{"name", "b"}, {"version", "1"}, {"build", "0"}}},
          {"unrelated-1-0.conda", {{"name", "unrelated"}, {"version", "1"}, {"build", "0"}}}}}};
    ASSERT_TRUE(write_file_atomic(ch / "linux-64/repodata.json", doc.dump()));
  };
  write_channel("1.0");
  ASSERT_TRUE(write_file_atomic(ch / "noarch/repodata.json", R"({"packages":{}})"));
  EnvironmentSolveRequest req{.channels = {ch.string()}, .specs = {"a"}};
  req.solver_options.cache_dir = dir.path() / "cache";
  FileFetcher fetcher;
  auto versions = [&]() {
    auto o = solve_environment(req, fetcher);
    EXPECT_TRUE(o) << o.error().to_string();
    std::vector<std::string> out;
    for (const auto& r : std::get<Solution>(*o).packages) out.push_back(r.name + "=" + r.version);
    return out;
  };
  EXPECT_EQ(versions(), (std::vector<std::string>{"b=1", "a=1.0"}));
  EXPECT_TRUE(fs::exists(
      detail::parsed_cache_path(req.solver_options.cache_dir, ch / "linux-64/repodata.json")));
  // Warm: same answer from the cache.
  EXPECT_EQ(versions(), (std::vector<std::string>{"b=1", "a=1.0"}));
  // The repodata changes (same size, different content and mtime): the cache is rebuilt.
  write_channel("2.0");
  struct utimbuf times {
    .actime = 2000000000, .modtime = 2000000000
  };
  ASSERT_EQ(::utime((ch / "linux-64/repodata.json").c_str(), &times), 0);
  EXPECT_EQ(versions(), (std::vector<std::string>{"b=1", "a=2.0"}));
  // A damaged cache file is ignored and rewritten.
  auto cache_file =
      detail::parsed_cache_path(req.solver_options.cache_dir, ch / "linux-64/repodata.json");
  ASSERT_TRUE(write_file_atomic(cache_file, "garbage"));
  EXPECT_EQ(versions(), (std::vector<std::string>{"b=1", "a=2.0"}));
  EXPECT_NE(*read_file(cache_file), "garbage");
}

// A remote channel served from memory, with ETags: counts full downloads and 304 answers.
class MemoryFetcher final : public Fetcher {
 public:
  std::map<std::string, std::string> files;  // URL -> body
  int downloads = 0, not_modified = 0;
  Result<std::unique_ptr<Reader>> open(const std::string& url) override {
    auto it = files.find(url);
    if (it == files.end()) return fail(Code::NotFound, "{}: 404", url);
    return std::unique_ptr<Reader>(std::make_unique<StringReader>(it->second));
  }
  Result<FetchOutcome> fetch_to(const std::string& url, Writer& out,
                                const FetchConditions& conditions) override {
    auto it = files.find(url);
    if (it == files.end()) return fail(Code::NotFound, "{}: 404", url);
    std::string etag = "\"" + Digest::of(it->second).hex().substr(0, 16) + "\"";
    if (conditions.etag == etag) {
      ++not_modified;
      return FetchOutcome{.not_modified = true};
    }
    ++downloads;
    DE_TRY(out.write(it->second));
    return FetchOutcome{.etag = etag, .bytes = it->second.size()};
  }
};

TEST(SolverCache, RemoteChannelsUseTheCacheAfterRevalidation) {
  auto dir = *TempDir::create();
  MemoryFetcher fetcher;
  const std::string base = "https://repo.example.org";
  auto channel_doc = [](const std::string& version) {
    return nlohmann::json{
        {"info", {{"subdir", "linux-64"}}},
        {"packages.conda",
         {{"a-" + version + "-0.conda", {{"name", "a"}, {"version", version}, {"build", "0"}}}}}}
        .dump();
  };
  for (const std::string ch : {"/ch", "/t/tk-secret-42/private"}) {
    fetcher.files[base + ch + "/linux-64/repodata.json"] = channel_doc("1.0");
    fetcher.files[base + ch + "/noarch/repodata.json"] = R"({"packages":{}})";
  }
  EnvironmentSolveRequest req{.channels = {base + "/ch"}, .specs = {"a"}};
  req.solver_options.cache_dir = dir.path() / "parsed";
  req.repodata.cache_dir = dir.path() / "repodata";
  auto solve_a = [&]() -> std::string {
    auto o = solve_environment(req, fetcher);
    EXPECT_TRUE(o) << o.error().to_string();
    if (!o || !std::holds_alternative<Solution>(*o)) return "";
    return std::get<Solution>(*o).packages.at(0).dist_name();
  };
  EXPECT_EQ(solve_a(), "a-1.0-0");
  EXPECT_EQ(fetcher.downloads, 2);
  fs::path doc = repodata_cache_path(req.repodata.cache_dir, base + "/ch/linux-64");
  fs::path parsed = detail::parsed_cache_path(req.solver_options.cache_dir, doc);
  ASSERT_TRUE(fs::exists(parsed));

  // Warm: revalidated (304), then read from the parsed cache, not parsed again. Proof: a parsed
  // cache holding other records under the same key is what the solve answers from.
  Repodata other;
  other.subdir = "linux-64";
  other.base_url = base + "/ch/linux-64";
  PackageRecord a9;
  a9.name = "a";
  a9.version = "9.0";
  a9.build = "0";
  a9.fn = "a-9.0-0.conda";
  a9.subdir = "linux-64";
  other.records = {a9};
  auto key = detail::repodata_cache_key(doc);
  ASSERT_TRUE(key);
  ASSERT_TRUE(write_file_atomic(parsed, detail::CachedRepodata::encode(other, *key)));
  EXPECT_EQ(solve_a(), "a-9.0-0");
  EXPECT_EQ(fetcher.downloads, 2);
  EXPECT_EQ(fetcher.not_modified, 2);

  // The channel publishes a new document: downloaded, the parsed cache no longer matches it.
  fetcher.files[base + "/ch/linux-64/repodata.json"] = channel_doc("2.0");
  EXPECT_EQ(solve_a(), "a-2.0-0");
  EXPECT_EQ(fetcher.downloads, 3);

  // A channel with a token is parsed every time: its base URL (with the token) is never written
  // to the parsed cache, and the token reaches no file name or content under either cache.
  req.channels = {base + "/t/tk-secret-42/private"};
  EXPECT_EQ(solve_a(), "a-1.0-0");
  EXPECT_EQ(solve_a(), "a-1.0-0");
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find("tk-secret-42"), std::string::npos) << e.path();
    if (e.is_regular_file()) {
      EXPECT_EQ(read_file(e.path())->find("tk-secret-42"), std::string::npos) << e.path();
    }
  }
  EXPECT_FALSE(fs::exists(detail::parsed_cache_path(
      req.solver_options.cache_dir,
      repodata_cache_path(req.repodata.cache_dir, base + "/t/tk-secret-42/private/linux-64"))));
}

}  // namespace
}  // namespace de::conda
