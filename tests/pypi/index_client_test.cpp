// The index client against a scripted loopback server (content negotiation, 404, metadata
// files and their hashes, redirects, retries) and against --find-links directories and pages.
#include "docker_envs/pypi/index_client.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/io.hpp"
#include "support/fake_http_server.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;
using ::de::test::FakeHttpServer;
using ::de::test::HttpRequest;
using ::de::test::HttpResponse;

constexpr std::string_view kMetadata =
    "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six>=1.0\n";

std::unique_ptr<IndexTransport> fast_transport() {
  return make_index_transport({.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)});
}

// An index serving JSON to clients that ask for it and HTML to the others.
HttpResponse serve_index(const HttpRequest& req, const std::string& metadata_sha) {
  if (req.target == "/simple/demo/") {
    if (req.header("accept").find("application/vnd.pypi.simple.v1+json") != std::string::npos)
      return HttpResponse{
          .headers = {{"Content-Type", "application/vnd.pypi.simple.v1+json"}},
          .body = R"({"meta":{"api-version":"1.1"},"name":"demo","files":[
            {"filename":"demo-1.0-py3-none-any.whl","url":"../../files/demo-1.0-py3-none-any.whl",
             "hashes":{"sha256":"00"},"core-metadata":{"sha256":")" +
                  metadata_sha + R"("}},
            {"filename":"other-1.0-py3-none-any.whl","url":"other.whl","hashes":{}}]})"};
    return HttpResponse{.headers = {{"Content-Type", "text/html"}},
                        .body = "<a href='../../files/demo-1.0-py3-none-any.whl'>x</a>"};
  }
  if (req.target == "/files/demo-1.0-py3-none-any.whl.metadata")
    return HttpResponse{.body = std::string(kMetadata)};
  if (req.target == "/old/demo/")
    return HttpResponse{.status = 301, .headers = {{"Location", "/simple/demo/"}}};
  return HttpResponse{.status = 404};
}

TEST(PypiIndexClient, NegotiatesJsonAndReadsMetadataFiles) {
  std::string sha = Digest::of(kMetadata).hex();
  FakeHttpServer server([&](const HttpRequest& req) { return serve_index(req, sha); });
  auto transport = fast_transport();
  IndexClient client(IndexSources{.index_urls = {"http://" + server.host() + "/simple/"}},
                     *transport);
  auto files = client.files("Demo");
  ASSERT_TRUE(files) << files.error().to_string();
  ASSERT_EQ(files->size(), 1u);  // other-1.0 is not of the project
  const auto& f = files->front();
  EXPECT_EQ(f.url, "http://" + server.host() + "/files/demo-1.0-py3-none-any.whl");
  EXPECT_TRUE(f.has_core_metadata);
  auto m = client.core_metadata(f);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->name, "demo");
  ASSERT_EQ(m->requires_dist.size(), 1u);
  EXPECT_EQ(m->requires_dist[0].key(), "six");
  // The page is asked for once per project (cached), with the PEP 691 Accept header.
  ASSERT_TRUE(client.files("demo"));
  int page_requests = 0;
  for (const auto& r : server.requests()) {
    if (r.target != "/simple/demo/") continue;
    ++page_requests;
    EXPECT_EQ(r.header("accept"), std::string(kSimpleAccept));
  }
  EXPECT_EQ(page_requests, 1);
  // An unknown project is no error: it is simply not on this index.
  auto none = client.files("nothing-here");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(PypiIndexClient, MetadataHashMismatchIsCorruption) {
  FakeHttpServer server([&](const HttpRequest& req) { return serve_index(req, std::string(64, 'a')); });
  auto transport = fast_transport();
  IndexClient client(IndexSources{.index_urls = {"http://" + server.host() + "/simple"}},
                     *transport);
  auto files = client.files("demo");
  ASSERT_TRUE(files);
  ASSERT_EQ(files->size(), 1u);
  auto m = client.core_metadata(files->front());
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), Code::Corruption);
  DistributionFile without = files->front();
  without.has_core_metadata = false;
  EXPECT_EQ(client.core_metadata(without).error().code(), Code::NotFound);
}

TEST(PypiIndexClient, HtmlIndexRedirectsRetriesAndErrors) {
  std::atomic<int> failures{1};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target == "/flaky/demo/" && failures-- > 0) return HttpResponse{.status = 503};
    if (req.target == "/flaky/demo/")
      return HttpResponse{.headers = {{"Content-Type", "text/html"}},
                          .body = "<a href='/files/demo-2.0-py3-none-any.whl#sha256=AB'>d</a>"};
    if (req.target == "/private/demo/") return HttpResponse{.status = 401};
    return serve_index(req, "");
  });
  auto transport = fast_transport();
  std::string host = "http://" + server.host();
  IndexClient redirected(IndexSources{.index_urls = {host + "/old"}}, *transport);
  auto r = redirected.files("demo");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().url, host + "/files/demo-1.0-py3-none-any.whl");  // relative to /simple/demo/

  IndexClient flaky(IndexSources{.index_urls = {host + "/flaky"}}, *transport);
  auto f = flaky.files("demo");
  ASSERT_TRUE(f) << f.error().to_string();
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ(f->front().hashes.at("sha256"), "ab");

  IndexClient denied(IndexSources{.index_urls = {"http://user:s3cret@" + server.host() + "/private"}},
                     *transport);
  auto d = denied.files("demo");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), Code::Auth);
  EXPECT_EQ(d.error().to_string().find("s3cret"), std::string::npos) << d.error().to_string();
}

TEST(PypiIndexClient, PagesAreCachedAndRevalidated) {
  std::atomic<int> full_answers{0};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target != "/simple/demo/") return HttpResponse{.status = 404};
    if (req.header("if-none-match") == "\"v1\"") return HttpResponse{.status = 304};
    ++full_answers;
    return HttpResponse{.headers = {{"Content-Type", "text/html"}, {"ETag", "\"v1\""}},
                        .body = "<a href='demo-1.0-py3-none-any.whl'>x</a>"};
  });
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  auto files_with_new_client = [&] {
    auto transport = make_index_transport({.max_attempts = 1, .cache_dir = dir->path()});
    IndexClient client(IndexSources{.index_urls = {"http://" + server.host() + "/simple"}},
                       *transport);
    return client.files("demo");
  };
  auto first = files_with_new_client();
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = files_with_new_client();  // a 304: the kept page is used
  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().url, "http://" + server.host() + "/simple/demo/demo-1.0-py3-none-any.whl");
  EXPECT_EQ(full_answers.load(), 1);
  EXPECT_EQ(server.requests().back().header("if-none-match"), "\"v1\"");
  // A damaged entry is not trusted: the page is fetched whole again.
  for (const auto& e : fs::directory_iterator(dir->path() / "pypi-http")) {
    if (e.path().extension() == ".body") {
      ASSERT_TRUE(write_file_atomic(e.path(), "garbage"));
    }
  }
  auto third = files_with_new_client();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->size(), 1u);
  EXPECT_EQ(full_answers.load(), 2);
}

TEST(PypiIndexClient, FindLinksDirectoriesAndPages) {
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  fs::path wheels = dir->path() / "my wheels";
  fs::create_directories(wheels);
  for (const char* name : {"demo-1.0-py3-none-any.whl", "demo-1.1.tar.gz", "Demo-2.0-cp311-cp311-linux_x86_64.whl",
                           "demonstration-1.0-py3-none-any.whl", "README.txt"})
    ASSERT_TRUE(write_file_atomic(wheels / name, "x"));
  fs::path page = dir->path() / "links.html";
  ASSERT_TRUE(write_file_atomic(page, "<a href='my%20wheels/demo-1.0-py3-none-any.whl'>a</a>"
                                      "<a href='https://elsewhere.example/demo-3.0-py3-none-any.whl'>b</a>"));
  auto transport = fast_transport();
  IndexClient client(IndexSources{.index_urls = {},
                                  .find_links = {wheels.string(), "file://" + page.string()}},
                     *transport);
  auto files = client.files("demo");
  ASSERT_TRUE(files) << files.error().to_string();
  std::vector<std::string> names;
  for (const auto& f : *files) names.push_back(f.filename);
  EXPECT_EQ(names, (std::vector<std::string>{"Demo-2.0-cp311-cp311-linux_x86_64.whl",
                                             "demo-1.0-py3-none-any.whl", "demo-1.1.tar.gz",
                                             "demo-1.0-py3-none-any.whl",
                                             "demo-3.0-py3-none-any.whl"}));
  EXPECT_TRUE((*files)[1].url.starts_with("file:///")) << (*files)[1].url;
  EXPECT_TRUE((*files)[1].url.ends_with("/my%20wheels/demo-1.0-py3-none-any.whl")) << (*files)[1].url;
  EXPECT_EQ((*files)[3].url, (*files)[1].url);  // the page's relative link, resolved
  EXPECT_EQ((*files)[4].url, "https://elsewhere.example/demo-3.0-py3-none-any.whl");

  IndexClient missing(IndexSources{.index_urls = {}, .find_links = {(dir->path() / "nope").string()}},
                      *transport);
  auto m = missing.files("demo");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), Code::NotFound);
  EXPECT_NE(m.error().to_string().find("--find-links"), std::string::npos);
}

}  // namespace
}  // namespace de::pypi
