// Failing fast when fetching many packages: a host that no attempt can reach (refusing
// connections, closing them unanswered, or not resolving) is given up on once for all its URLs,
// each retry is shown at debug level (-v), and the first failure cancels the downloads in flight.
// Counts, never timings: connections a server saw, retry lines the log printed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/conda/http_fetcher.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "support/fake_http_server.hpp"

namespace de::conda {
namespace {

using ::de::test::FakeHttpServer;
using ::de::test::HttpRequest;
using ::de::test::HttpResponse;

constexpr int kAttempts = 4;
constexpr unsigned kThreads = 4;
// What may reach a dead host: one retry sequence's worth of attempts, plus the attempts the other
// threads had in flight when the host was given up on. Without the breaker every thread makes
// all its attempts (4 x 4 = 16) before the first failure stops the loop.
constexpr int kMostAttempts = kAttempts + static_cast<int>(kThreads) - 1;

HttpFetcherOptions fast() {
  return {.max_attempts = kAttempts, .initial_backoff = std::chrono::milliseconds(1)};
}

// A listening socket that accepts every connection, reads the request and closes the connection
// without a reply.
class ClosingServer {
 public:
  ClosingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len))
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // shut down
        ++connections_;
        // Read the request first: closing with unread bytes would reset the connection.
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          request.append(buf, static_cast<size_t>(n));
        }
        ::close(c);
      }
    });
  }
  ~ClosingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// A port nothing listens on.
int closed_port() {
  FakeHttpServer gone([](const HttpRequest&) { return HttpResponse{}; });
  return gone.port();
}

std::vector<PackageCache::FetchRequest> packages_at(const std::string& base, int count) {
  std::vector<PackageCache::FetchRequest> out;
  for (int i = 0; i < count; ++i)
    out.push_back({.url = fmt::format("{}/pkgs/p{}-1.0-0.conda", base, i), .expected = {}});
  return out;
}

// fetch_all of `requests` with debug logging; returns the error and the log's retry lines.
std::pair<Error, int> fetch_failing(const std::vector<PackageCache::FetchRequest>& requests) {
  auto dir = TempDir::create();
  EXPECT_TRUE(dir);
  PackageCache cache(dir->path() / "pkgs");
  HttpFetcher fetcher(fast());
  auto before = log::level();
  log::set_level(log::Level::Debug);
  testing::internal::CaptureStderr();
  auto fetched = cache.fetch_all(requests, fetcher, kThreads);
  std::string err = testing::internal::GetCapturedStderr();
  log::set_level(before);
  EXPECT_FALSE(fetched);
  int retries = 0;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("debug: retrying ")) ++retries;
  if (fetched) return {Error(Code::Internal, "succeeded"), retries};
  return {fetched.error(), retries};
}

TEST(FailFast, AHostThatClosesEveryConnectionIsTriedOnceForAllItsUrls) {
  ClosingServer server;
  auto [error, retries] =
      fetch_failing(packages_at(fmt::format("http://127.0.0.1:{}", server.port()), 200));
  EXPECT_EQ(error.code(), Code::Network) << error.to_string();
  EXPECT_GE(server.connections(), 1);
  EXPECT_LE(server.connections(), kMostAttempts) << error.to_string();
  EXPECT_GE(retries, 1);
  EXPECT_LE(retries, kMostAttempts);
}

TEST(FailFast, ARefusingHostFailsOnceWithEachRetryShown) {
  int port = closed_port();
  auto [error, retries] = fetch_failing(packages_at(fmt::format("http://127.0.0.1:{}", port), 200));
  EXPECT_EQ(error.code(), Code::Network);
  EXPECT_NE(error.to_string().find(fmt::format("127.0.0.1:{}", port)), std::string::npos)
      << error.to_string();
  EXPECT_GE(retries, 1) << "retries are shown at debug level";
  EXPECT_LE(retries, kMostAttempts) << error.to_string();
}

TEST(FailFast, AnUnresolvableHostFailsOnce) {
  auto [error, retries] = fetch_failing(packages_at("http://docker-envs-test.invalid", 200));
  EXPECT_EQ(error.code(), Code::Network);
  EXPECT_NE(error.to_string().find("docker-envs-test.invalid"), std::string::npos)
      << error.to_string();
  EXPECT_GE(retries, 1);
  EXPECT_LE(retries, kMostAttempts) << error.to_string();
}

TEST(FailFast, TheRetryLineNamesTheUrlWithoutCredentials) {
  int port = closed_port();
  // One package: one retry sequence, a line per retry.
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  PackageCache cache(dir->path());
  HttpFetcher fetcher(fast());
  auto before = log::level();
  log::set_level(log::Level::Debug);
  testing::internal::CaptureStderr();
  auto one = cache.fetch(
      fmt::format("http://user:pw-secret-1@127.0.0.1:{}/t/tk-secret-2/x-1-0.conda", port), {},
      fetcher);
  std::string err = testing::internal::GetCapturedStderr();
  log::set_level(before);
  ASSERT_FALSE(one);
  EXPECT_EQ(err.find("secret"), std::string::npos) << err;
  EXPECT_NE(err.find("(attempt 2 of 4)"), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("127.0.0.1:{}", port)), std::string::npos) << err;
}

// The first failure (a 404) cancels the downloads in flight: fetch_all returns while the server
// still holds their answers back, and reports the 404, not a cancellation.
TEST(FailFast, TheFirstFailureCancelsTheDownloadsInFlight) {
  std::mutex m;
  std::condition_variable cv;
  bool released = false;
  std::atomic<int> slow_started{0}, slow_answered{0};
  FakeHttpServer server([&](const HttpRequest& req) {
    if (req.target.find("/slow") != std::string::npos) {
      ++slow_started;
      std::unique_lock lock(m);
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return released; });
      ++slow_answered;
      return HttpResponse{.body = "late"};
    }
    // The 404 only once the slow ones are in flight.
    while (slow_started.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return HttpResponse{.status = 404};
  });
  std::string base = "http://" + server.host();
  std::vector<PackageCache::FetchRequest> requests = {
      {.url = base + "/slow/a-1-0.conda", .expected = {}},
      {.url = base + "/slow/b-1-0.conda", .expected = {}},
      {.url = base + "/slow/c-1-0.conda", .expected = {}},
      {.url = base + "/gone/d-1-0.conda", .expected = {}}};
  auto dir = TempDir::create();
  ASSERT_TRUE(dir);
  PackageCache cache(dir->path());
  HttpFetcher fetcher(fast());
  auto fetched = cache.fetch_all(requests, fetcher, 4);
  int answered = slow_answered.load();
  {
    std::lock_guard lock(m);
    released = true;
  }
  cv.notify_all();
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code(), Code::NotFound) << fetched.error().to_string();
  EXPECT_NE(fetched.error().to_string().find("d-1-0.conda"), std::string::npos);
  EXPECT_EQ(answered, 0) << "fetch_all waited for the downloads in flight";
}

}  // namespace
}  // namespace de::conda
