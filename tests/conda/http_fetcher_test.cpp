// HTTP channels against a scripted loopback server: repodata caching (ETag, Last-Modified, .zst),
// offline mode, errors that name the redacted URL, retries, and verified package downloads.
#include "docker_envs/conda/http_fetcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "ffi/compress.hpp"
#include "support/fake_http_server.hpp"
#include "support/testdata.hpp"
#include "test_packages.hpp"

namespace de::conda {
namespace {

namespace fs = std::filesystem;
using ::de::test::FakeHttpServer;
using ::de::test::HttpRequest;
using ::de::test::HttpResponse;

constexpr std::string_view kRepodata = R"({"info":{"subdir":"linux-64"},"packages.conda":{
  "tiny-1.0-0.conda":{"name":"tiny","version":"1.0","build":"0","subdir":"linux-64"},
  "tiny-2.0-0.conda":{"name":"tiny","version":"2.0","build":"0","subdir":"linux-64"}}})";

std::string zstd(std::string_view text) {
  StringWriter out;
  auto c = ffi::make_compressor(Compression::Zstd, out, {});
  EXPECT_TRUE(c);
  EXPECT_TRUE((*c)->write(text));
  EXPECT_TRUE((*c)->close());
  return out.take();
}

HttpFetcherOptions fast() {
  return {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)};
}

std::vector<std::string> targets(const FakeHttpServer& server) {
  std::vector<std::string> out;
  for (const auto& r : server.requests()) out.push_back(r.target);
  return out;
}

TEST(HttpRepodata, EtagRoundTripAndRememberedMissingZst) {
  FakeHttpServer server([](const HttpRequest& req) {
    if (req.target == "/ch/linux-64/repodata.json") {
      if (req.header("if-none-match") == "\"v1\"") return HttpResponse{.status = 304};
      return HttpResponse{.headers = {{"ETag", "\"v1\""}}, .body = std::string(kRepodata)};
    }
    return HttpResponse{.status = 404};
  });
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  ASSERT_TRUE(channel);
  HttpFetcher fetcher(fast());
  RepodataFetchOptions options{.cache_dir = dir->path()};
  auto first = fetch_repodata(*channel, "linux-64", fetcher, options);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->records.size(), 2u);
  EXPECT_EQ(first->records[0].channel, channel->name());
  auto second = fetch_repodata(*channel, "linux-64", fetcher, options);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->records, first->records);
  // .zst asked once; its absence is remembered; the second plain request was conditional.
  EXPECT_EQ(targets(server),
            (std::vector<std::string>{"/ch/linux-64/repodata.json.zst",
                                      "/ch/linux-64/repodata.json", "/ch/linux-64/repodata.json"}));
  EXPECT_EQ(server.requests()[1].header("if-none-match"), "");
  EXPECT_EQ(server.requests()[2].header("if-none-match"), "\"v1\"");
  fs::path doc = repodata_cache_path(dir->path(), channel->subdir_url("linux-64"));
  EXPECT_TRUE(fs::exists(doc));

  // A week later the missing .zst is asked for again (the channel may publish one by now); the
  // plain document is still revalidated with its ETag.
  fs::path state = fs::path(doc).replace_extension(".state.json");
  auto j = nlohmann::json::parse(*read_file(state));
  ASSERT_TRUE(j["no_zst"].get<bool>());
  j["no_zst_checked"] = j["no_zst_checked"].get<std::int64_t>() - 8 * 24 * 3600;
  ASSERT_TRUE(write_file_atomic(state, j.dump()));
  auto third = fetch_repodata(*channel, "linux-64", fetcher, options);
  ASSERT_TRUE(third) << third.error().to_string();
  EXPECT_EQ(third->records, first->records);
  auto t = targets(server);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[3], "/ch/linux-64/repodata.json.zst");
  EXPECT_EQ(t[4], "/ch/linux-64/repodata.json");
  EXPECT_EQ(server.requests()[4].header("if-none-match"), "\"v1\"");
  // ... and the new 404 is remembered from now on.
  ASSERT_TRUE(fetch_repodata(*channel, "linux-64", fetcher, options));
  EXPECT_EQ(targets(server).size(), 6u);
  EXPECT_EQ(targets(server).back(), "/ch/linux-64/repodata.json");
}

TEST(HttpRepodata, LastModifiedRevalidates) {
  const std::string stamp = "Wed, 21 Oct 2026 07:28:00 GMT";
  std::atomic<int> full{0};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target != "/ch/linux-64/repodata.json") return HttpResponse{.status = 404};
    if (req.header("if-modified-since") == stamp) return HttpResponse{.status = 304};
    ++full;
    return HttpResponse{.headers = {{"Last-Modified", stamp}}, .body = std::string(kRepodata)};
  });
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  HttpFetcher fetcher(fast());
  for (int i = 0; i < 3; ++i) {
    auto r = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->records.size(), 2u);
  }
  EXPECT_EQ(full.load(), 1);
}

TEST(HttpRepodata, ChangedDocumentReplacesTheCache) {
  std::atomic<int> version{1};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target != "/ch/linux-64/repodata.json") return HttpResponse{.status = 404};
    std::string etag = "\"v" + std::to_string(version.load()) + "\"";
    if (req.header("if-none-match") == etag) return HttpResponse{.status = 304};
    std::string body = version == 1 ? std::string(kRepodata)
                                    : R"({"packages.conda":{"other-1-0.conda":{"name":"other",
                                         "version":"1","build":"0"}}})";
    return HttpResponse{.headers = {{"ETag", etag}}, .body = body};
  });
  auto dir = TempDir::create();
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  HttpFetcher fetcher(fast());
  auto a = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->records.size(), 2u);
  version = 2;
  auto b = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
  ASSERT_TRUE(b) << b.error().to_string();
  ASSERT_EQ(b->records.size(), 1u);
  EXPECT_EQ(b->records[0].name, "other");
}

TEST(HttpRepodata, ZstPreferredWhenPresent) {
  std::string compressed = zstd(kRepodata);
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target == "/ch/linux-64/repodata.json.zst") {
      if (req.header("if-none-match") == "\"z1\"") return HttpResponse{.status = 304};
      return HttpResponse{.headers = {{"ETag", "\"z1\""}}, .body = compressed};
    }
    return HttpResponse{.status = 500};  // the plain document must not be asked for
  });
  auto dir = TempDir::create();
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  HttpFetcher fetcher(fast());
  for (int i = 0; i < 2; ++i) {
    auto r = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->records.size(), 2u);
  }
  EXPECT_EQ(targets(server), (std::vector<std::string>{"/ch/linux-64/repodata.json.zst",
                                                       "/ch/linux-64/repodata.json.zst"}));
  EXPECT_EQ(server.requests()[1].header("if-none-match"), "\"z1\"");
  // Without a cache directory the .zst is used too.
  auto uncached = fetch_repodata(*channel, "linux-64", fetcher);
  ASSERT_TRUE(uncached) << uncached.error().to_string();
  EXPECT_EQ(uncached->records.size(), 2u);
}

TEST(HttpRepodata, CorruptZstIsAnErrorAndLeavesNoCache) {
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target == "/ch/linux-64/repodata.json.zst")
      return HttpResponse{.body = zstd(kRepodata).substr(0, 20)};
    return HttpResponse{.status = 404};
  });
  auto dir = TempDir::create();
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  HttpFetcher fetcher(fast());
  auto r = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Corruption) << r.error().to_string();
  EXPECT_FALSE(fs::exists(repodata_cache_path(dir->path(), channel->subdir_url("linux-64"))));
}

TEST(HttpRepodata, OfflineUsesOnlyTheCache) {
  FakeHttpServer server([](const HttpRequest& req) {
    if (req.target == "/ch/linux-64/repodata.json")
      return HttpResponse{.body = std::string(kRepodata)};
    return HttpResponse{.status = 404};
  });
  auto dir = TempDir::create();
  auto channel = Channel::parse("http://" + server.host() + "/ch");
  HttpFetcher fetcher(fast());
  auto miss =
      fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path(), .offline = true});
  ASSERT_FALSE(miss);
  EXPECT_EQ(miss.error().code(), Code::NotFound);
  EXPECT_NE(miss.error().to_string().find("offline"), std::string::npos);
  EXPECT_NE(miss.error().to_string().find("linux-64"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());

  ASSERT_TRUE(fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()}));
  auto before = server.requests().size();
  auto hit =
      fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path(), .offline = true});
  ASSERT_TRUE(hit) << hit.error().to_string();
  EXPECT_EQ(hit->records.size(), 2u);
  EXPECT_EQ(server.requests().size(), before);
}

TEST(HttpRepodata, MissingSubdirAndTokensRedacted) {
  FakeHttpServer server([](const HttpRequest&) { return HttpResponse{.status = 404}; });
  auto dir = TempDir::create();
  auto channel = Channel::parse("http://" + server.host() + "/t/sekrit-tk-42/ch");
  ASSERT_TRUE(channel);
  HttpFetcher fetcher(fast());
  auto r = fetch_repodata(*channel, "linux-64", fetcher, {.cache_dir = dir->path()});
  ASSERT_FALSE(r);
  std::string message = r.error().to_string();
  EXPECT_EQ(r.error().code(), Code::NotFound);
  EXPECT_NE(message.find("has no subdir 'linux-64'"), std::string::npos) << message;
  EXPECT_NE(message.find("/t/***/ch"), std::string::npos) << message;
  EXPECT_EQ(message.find("sekrit"), std::string::npos) << message;
  // The token did reach the server.
  EXPECT_EQ(server.requests().at(0).target, "/t/sekrit-tk-42/ch/linux-64/repodata.json.zst");
  // No cache file name carries the token either.
  for (const auto& e : fs::recursive_directory_iterator(dir->path()))
    EXPECT_EQ(e.path().string().find("sekrit"), std::string::npos);
}

TEST(HttpFetcher, RetriesTransientFailuresAndRedactsTokens) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target.ends_with("/flaky") && ++calls < 3) return HttpResponse{.status = 503};
    if (req.target.ends_with("/flaky")) return HttpResponse{.body = "ok"};
    return HttpResponse{.status = 502};
  });
  HttpFetcher fetcher(fast());
  StringWriter out;
  auto ok = fetcher.fetch_to("http://" + server.host() + "/flaky", out);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(out.str(), "ok");
  EXPECT_EQ(calls.load(), 3);

  StringWriter broken;
  auto bad = fetcher.fetch_to("http://" + server.host() + "/t/tk-secret-9/down", broken);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::Network);
  EXPECT_NE(bad.error().to_string().find("502"), std::string::npos);
  EXPECT_EQ(bad.error().to_string().find("tk-secret-9"), std::string::npos)
      << bad.error().to_string();

  // A connection refused names the redacted URL too.
  int port = 0;
  {
    FakeHttpServer gone([](const HttpRequest&) { return HttpResponse{}; });
    port = gone.port();
  }
  StringWriter none;
  auto refused =
      fetcher.fetch_to("http://127.0.0.1:" + std::to_string(port) + "/t/tk-secret-9/x", none);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().to_string().find("tk-secret-9"), std::string::npos)
      << refused.error().to_string();
  // So are query credentials (a signed download URL).
  StringWriter none2;
  auto signed_url = fetcher.fetch_to("http://127.0.0.1:" + std::to_string(port) +
                                         "/x.conda?X-Amz-Signature=sig-secret-7&token=tk-secret-8",
                                     none2);
  ASSERT_FALSE(signed_url);
  EXPECT_EQ(signed_url.error().to_string().find("secret-7"), std::string::npos)
      << signed_url.error().to_string();
  EXPECT_EQ(signed_url.error().to_string().find("secret-8"), std::string::npos)
      << signed_url.error().to_string();
}

TEST(HttpFetcher, ResumesAnInterruptedBody) {
  std::string body(100000, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  FakeHttpServer server([&](const HttpRequest& req) {
    auto range = req.header("range");
    if (range.empty()) return HttpResponse{.body = body, .drop_after = 30000};
    std::size_t from = std::stoul(range.substr(6));
    return HttpResponse{.status = 206,
                        .headers = {{"Content-Range", fmt::format("bytes {}-{}/{}", from,
                                                                  body.size() - 1, body.size())}},
                        .body = body.substr(from)};
  });
  HttpFetcher fetcher(fast());
  StringWriter out;
  auto r = fetcher.fetch_to("http://" + server.host() + "/big", out);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(out.str(), body);
}

TEST(HttpFetcher, MakeFetcherTakesFileAndHttpUrls) {
  FakeHttpServer server([](const HttpRequest&) { return HttpResponse{.body = "remote"}; });
  auto dir = TempDir::create();
  ASSERT_TRUE(write_file_atomic(dir->path() / "f.txt", "local"));
  auto fetcher = make_fetcher(fast());
  StringWriter a, b;
  ASSERT_TRUE(fetcher->fetch_to(path_to_file_url(dir->path() / "f.txt"), a));
  ASSERT_TRUE(fetcher->fetch_to("http://" + server.host() + "/x", b));
  EXPECT_EQ(a.str(), "local");
  EXPECT_EQ(b.str(), "remote");
  auto reader = fetcher->open("http://" + server.host() + "/x");
  ASSERT_TRUE(reader);
  EXPECT_EQ(*read_all(**reader), "remote");
  auto other = fetcher->open("ftp://example.org/x");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), Code::Unsupported);
}

class HttpPackages : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create();
    ASSERT_TRUE(d);
    dir_ = std::move(*d);
    auto pkg = test::build_package(
        dir_->path(), {.payload = {test::file("share/tiny.txt", "hi\n")}}, PackageFormat::Conda);
    ASSERT_TRUE(pkg) << pkg.error().to_string();
    bytes_ = *read_file(*pkg);
    hashes_ = *hash_package_file(*pkg);
  }
  std::optional<TempDir> dir_;
  std::string bytes_;
  PackageHashes hashes_;
};

TEST_F(HttpPackages, DownloadsVerifiesAndReuses) {
  std::atomic<int> gets{0};
  FakeHttpServer server([&](const HttpRequest&) {
    ++gets;
    return HttpResponse{.body = bytes_};
  });
  PackageCache cache(dir_->path() / "cache");
  HttpFetcher fetcher(fast());
  std::string url = "http://" + server.host() + "/ch/linux-64/tiny-1.0-0.conda";
  auto extracted = cache.fetch(url, {.sha256 = hashes_.sha256}, fetcher);
  ASSERT_TRUE(extracted) << extracted.error().to_string();
  EXPECT_EQ(*read_file(*extracted / "share/tiny.txt"), "hi\n");
  auto again = cache.fetch(url, {.md5 = hashes_.md5}, fetcher);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(gets.load(), 1);
}

// local_source(): what fetch() would take without the network (what build --offline checks).
TEST_F(HttpPackages, LocalSourceIsWhatNeedsNoDownload) {
  std::atomic<int> gets{0};
  FakeHttpServer server([&](const HttpRequest&) {
    ++gets;
    return HttpResponse{.body = bytes_};
  });
  PackageCache cache(dir_->path() / "cache");
  HttpFetcher fetcher(fast());
  std::string url = "http://" + server.host() + "/ch/noarch/tiny-1.0-0.conda";
  EXPECT_FALSE(cache.local_source(url, {.sha256 = hashes_.sha256}, fetcher));
  EXPECT_FALSE(cache.local_source(url, {.md5 = hashes_.md5}, fetcher));
  ASSERT_TRUE(cache.fetch(url, {.sha256 = hashes_.sha256}, fetcher));
  auto entry = cache.local_source(url, {.sha256 = hashes_.sha256}, fetcher);
  ASSERT_TRUE(entry);
  EXPECT_TRUE(std::filesystem::is_directory(*entry));
  // Without a sha256 the earlier download is what is at hand (checked when it is used).
  auto download = cache.local_source(url, {.md5 = hashes_.md5}, fetcher);
  ASSERT_TRUE(download);
  EXPECT_EQ(download->filename(), "tiny-1.0-0.conda");
  // A file:// URL is its own file, when it exists.
  auto file = path_to_file_url(dir_->path() / "missing.conda");
  EXPECT_FALSE(cache.local_source(file, {}, fetcher));
  EXPECT_EQ(gets.load(), 1);
}

TEST_F(HttpPackages, TruncatedOrCorruptDownloadsAreRefused) {
  std::string corrupt = bytes_;
  corrupt[corrupt.size() / 2] ^= 0x55;
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target.starts_with("/cut/"))
      return HttpResponse{.body = bytes_, .drop_after = static_cast<long>(bytes_.size() / 2)};
    return HttpResponse{.body = corrupt};
  });
  HttpFetcher fetcher(fast());
  fs::path root = dir_->path() / "cache";
  PackageCache cache(root);
  auto cut = cache.fetch("http://" + server.host() + "/cut/tiny-1.0-0.conda",
                         {.sha256 = hashes_.sha256}, fetcher);
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code(), Code::Network) << cut.error().to_string();
  auto bad = cache.fetch("http://" + server.host() + "/bad/tiny-1.0-0.conda",
                         {.sha256 = hashes_.sha256}, fetcher);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::Corruption) << bad.error().to_string();
  EXPECT_NE(bad.error().to_string().find("tiny-1.0-0.conda"), std::string::npos);
  // Nothing complete-looking was left behind.
  EXPECT_FALSE(fs::exists(root / "downloads/tiny-1.0-0.conda"));
  for (const auto& e : fs::directory_iterator(root)) {
    auto name = e.path().filename().string();
    EXPECT_TRUE(name == "downloads" || name.starts_with(".")) << name;
  }
}

}  // namespace
}  // namespace de::conda
