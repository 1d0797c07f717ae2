// The resolver's parallel fetch: results at their index whatever the timing, the first failure
// cancelling the rest, and (over a real IndexClient on a loopback server) errors that still name
// the URL.
#include "pypi/resolver_prefetch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "docker_envs/pypi/index_client.hpp"
#include "support/fake_http_server.hpp"

namespace de::pypi {
namespace {

using detail::fetch_each;
using ::de::test::FakeHttpServer;
using ::de::test::HttpRequest;
using ::de::test::HttpResponse;

TEST(PypiPrefetch, ResultsAreAtTheirIndex) {
  for (int round = 0; round < 20; ++round) {
    auto out = fetch_each<int>(40, 8, [](std::size_t i, const Cancellation&) -> Result<int> {
      // Later items finish first.
      std::this_thread::sleep_for(std::chrono::microseconds((40 - i) * 20));
      return static_cast<int>(i * i);
    });
    ASSERT_EQ(out.size(), 40u);
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(out[i] && *out[i]) << i;
      EXPECT_EQ(**out[i], static_cast<int>(i * i));
    }
  }
}

TEST(PypiPrefetch, FirstFailureCancelsTheRest) {
  std::atomic<int> started = 0;
  auto begin = std::chrono::steady_clock::now();
  auto out = fetch_each<int>(100, 4, [&](std::size_t i, const Cancellation& cancel) -> Result<int> {
    ++started;
    if (i < 3) return static_cast<int>(i);
    if (i == 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others are waiting
      return fail(Code::Network, "http://index.example/simple/item{}/: HTTP 500", i);
    }
    // A long retry back-off, cut short by the cancellation.
    if (cancel.sleep_for(std::chrono::seconds(20)))
      return static_cast<int>(i);
    return fail(Code::Network, "item {}: cancelled", i);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(out[i] && *out[i]) << i;
    EXPECT_EQ(**out[i], static_cast<int>(i));
  }
  ASSERT_TRUE(out[3]);
  ASSERT_FALSE(*out[3]);
  EXPECT_NE(out[3]->error().to_string().find("http://index.example/simple/item3/: HTTP 500"),
            std::string::npos);
  // The items cancelled in flight and the ones never started are left for the caller.
  for (std::size_t i = 4; i < out.size(); ++i) EXPECT_FALSE(out[i]) << i;
  EXPECT_LE(started.load(), 3 + 4);  // at most the pool's other threads started anything after 3
}

TEST(PypiPrefetch, ExceptionsLeaveTheItemToTheCaller) {
  auto out = fetch_each<int>(3, 2, [](std::size_t i, const Cancellation&) -> Result<int> {
    if (i == 1) throw std::runtime_error("boom");
    return 7;
  });
  EXPECT_TRUE(out[0] && *out[0]);
  EXPECT_FALSE(out[1]);
}

// Over the real index client: a project page that keeps answering 503 fails the resolution with an
// error naming its URL, and the pages fetched beside it do not wait out its retries.
TEST(PypiPrefetch, IndexErrorsNameTheUrl) {
  std::atomic<int> bad_requests = 0;
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target == "/simple/app/")
      return HttpResponse{
          .headers = {{"Content-Type", "text/html"}},
          .body = "<a href='../../files/app-1.0-py3-none-any.whl' data-core-metadata='true'>app</a>"};
    if (req.target == "/files/app-1.0-py3-none-any.whl.metadata")
      return HttpResponse{.body = "Metadata-Version: 2.1\nName: app\nVersion: 1.0\n"};
    if (req.target == "/simple/bad/") {
      ++bad_requests;
      return HttpResponse{.status = 500};
    }
    return HttpResponse{.status = 404};
  });
  auto transport = make_index_transport(
      {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(1)});
  IndexClient client(IndexSources{.index_urls = {"http://" + server.host() + "/simple"}},
                     *transport);
  auto target = *Target::for_image(TargetSpec{.platform = "linux-64",
                                              .python_version = "3.11.4",
                                              .python_build = "h_0_cpython",
                                              .glibc = "2.28"});
  for (unsigned threads : {1u, 8u}) {
    ResolveRequest request{.requirements = {*Requirement::parse("app"), *Requirement::parse("bad")},
                           .fetch_threads = threads};
    auto outcome = resolve(request, target, client);
    ASSERT_FALSE(outcome) << threads;
    std::string text = outcome.error().to_string();
    EXPECT_NE(text.find("looking up the PyPI project 'bad'"), std::string::npos) << text;
    EXPECT_NE(text.find("http://" + server.host() + "/simple/bad/"), std::string::npos) << text;
    EXPECT_NE(text.find("HTTP 500"), std::string::npos) << text;
  }
  EXPECT_EQ(bad_requests.load(), 3 + 3);  // each run: its attempts, once (the prefetch's error is kept)
}

// The transport hands the cancellation to its retry waits: a page that keeps answering 503 with a
// long back-off gives up as soon as the batch is cancelled, with an error naming the URL.
TEST(PypiPrefetch, CancellationCutsRetryWaitsShort) {
  FakeHttpServer server([](const HttpRequest&) { return HttpResponse{.status = 503}; });
  auto transport = make_index_transport(
      {.max_attempts = 5, .initial_backoff = std::chrono::seconds(20)});
  Cancellation cancel;
  Thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel.cancel();
  });
  auto begin = std::chrono::steady_clock::now();
  std::string url = "http://" + server.host() + "/simple/slow/";
  auto r = transport->get(url, "text/html", &cancel);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  // The last answer stands (503), as when the attempts run out.
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 503);
  IndexClient client(IndexSources{.index_urls = {"http://" + server.host() + "/simple"}},
                     *transport);
  Cancellation cancelled;
  cancelled.cancel();
  auto files = client.files("slow", &cancelled);
  ASSERT_FALSE(files);
  EXPECT_NE(files.error().to_string().find(url), std::string::npos) << files.error().to_string();
}

}  // namespace
}  // namespace de::pypi
