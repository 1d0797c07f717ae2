// The retry policy shared by conda's HttpFetcher and the registry client.
#include "ffi/http_retry.hpp"

#include <gtest/gtest.h>

namespace de::ffi::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(HttpRetry, TransientStatuses) {
  for (long s : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(is_transient_status(s)) << s;
  for (long s : {200, 206, 304, 400, 401, 403, 404, 410, 416, 501, 505})
    EXPECT_FALSE(is_transient_status(s)) << s;
}

TEST(HttpRetry, AttemptsCountTheFirstOne) {
  RetryPolicy p{.max_attempts = 3};
  EXPECT_TRUE(p.may_retry(1));
  EXPECT_TRUE(p.may_retry(2));
  EXPECT_FALSE(p.may_retry(3));
  EXPECT_FALSE(RetryPolicy{.max_attempts = 1}.may_retry(1));
}

TEST(HttpRetry, BackoffDoublesUpToTheCap) {
  RetryPolicy p{.initial_backoff = milliseconds(100), .max_backoff = milliseconds(1000)};
  std::vector<long> waits;
  for (int retry = 1; retry <= 6; ++retry)
    waits.push_back(retry_delay(p, retry, std::nullopt, 0).count());
  EXPECT_EQ(waits, (std::vector<long>{100, 200, 400, 800, 1000, 1000}));
  // A huge retry number neither overflows nor exceeds the cap.
  EXPECT_EQ(retry_delay(p, 1000, std::nullopt, 0), milliseconds(1000));
  // conda's schedule: capped at 64 times the first wait.
  RetryPolicy conda{.initial_backoff = milliseconds(500), .max_backoff = milliseconds(500 * 64)};
  EXPECT_EQ(retry_delay(conda, 7, std::nullopt, 0), milliseconds(32000));
  EXPECT_EQ(retry_delay(conda, 9, std::nullopt, 0), milliseconds(32000));
}

TEST(HttpRetry, JitterStaysWithinAQuarter) {
  RetryPolicy p{
      .initial_backoff = milliseconds(1000), .max_backoff = milliseconds(8000), .jitter = true};
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 0), milliseconds(750));
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 49), milliseconds(1240));
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 50), milliseconds(750));
  EXPECT_EQ(retry_delay(p, 4, std::nullopt, 25), milliseconds(8000));  // 8000 * 1.00
  for (int i = 0; i < 200; ++i) {
    auto d = retry_delay(p, 2, std::nullopt);
    EXPECT_GE(d, milliseconds(1500));
    EXPECT_LT(d, milliseconds(2500));
  }
  // Without jitter the random value is not used.
  p.jitter = false;
  EXPECT_EQ(retry_delay(p, 1, std::nullopt, 49), milliseconds(1000));
}

TEST(HttpRetry, RetryAfterReplacesTheWaitUpToItsCap) {
  RetryPolicy p{.initial_backoff = milliseconds(100),
                .max_backoff = milliseconds(1000),
                .jitter = true,
                .max_retry_after = seconds(60)};
  EXPECT_EQ(retry_delay(p, 1, seconds(3), 7), milliseconds(3000));
  EXPECT_EQ(retry_delay(p, 5, seconds(0), 7), milliseconds(0));  // "now" means now
  EXPECT_EQ(retry_delay(p, 1, seconds(3600), 7), milliseconds(60000));
  // A policy that does not read Retry-After keeps its own schedule.
  p.max_retry_after.reset();
  p.jitter = false;
  EXPECT_EQ(retry_delay(p, 1, seconds(3), 7), milliseconds(100));
}

TEST(HttpRetry, WaitSleepsTheDelay) {
  RetryPolicy p{.initial_backoff = milliseconds(20), .max_backoff = milliseconds(20)};
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_before_retry(p, 3, std::nullopt, {.url = "https://x/y", .reason = "HTTP 503"}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(20));
}

TEST(HttpRetry, ResumeAsksForTheRestAndOnlyA206FeedsTheSink) {
  Request fresh{.url = "https://x/y"};
  resume_at(fresh, 0);
  EXPECT_TRUE(fresh.headers.empty());
  EXPECT_EQ(fresh.sink_status, 0);
  Request resumed{.url = "https://x/y", .headers = {"Accept: */*"}};
  resume_at(resumed, 12345);
  EXPECT_EQ(resumed.headers, (std::vector<std::string>{"Accept: */*", "Range: bytes=12345-"}));
  EXPECT_EQ(resumed.sink_status, 206);
}

TEST(HttpRetry, UrlHost) {
  EXPECT_EQ(url_host("https://Conda.Example.org/ch/x.conda"), "conda.example.org");
  EXPECT_EQ(url_host("http://user:pw@127.0.0.1:8080/t/tk/x?y=1"), "127.0.0.1:8080");
  EXPECT_EQ(url_host("http://[::1]:5000"), "[::1]:5000");
  EXPECT_EQ(url_host("no-scheme/x"), "");
}

TEST(HostBreaker, GivesUpOnAHostAfterTheLimitOfUnreachableAttemptsInARow) {
  HostBreaker breaker(3);
  const std::string a = "http://a.example:1/x", a2 = "http://A.example:1/y?z", b = "http://b/x";
  breaker.unreachable(a, "Connection refused");
  breaker.unreachable(a2, "Connection refused");
  EXPECT_FALSE(breaker.refusal(a));
  breaker.reached(a);  // an answer resets the count
  breaker.unreachable(a, "Connection refused");
  breaker.unreachable(a, "Connection refused");
  EXPECT_FALSE(breaker.refusal(a2));
  breaker.unreachable(a2, "Could not resolve host: a.example");
  auto refusal = breaker.refusal("http://a.example:1/other");
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("Could not resolve host: a.example"), std::string::npos) << *refusal;
  EXPECT_NE(refusal->find("3 attempts"), std::string::npos) << *refusal;
  EXPECT_FALSE(breaker.refusal(b));  // other hosts are not affected
  EXPECT_FALSE(breaker.refusal("http://a.example:2/x"));
}

TEST(HttpRetry, WaitBeforeRetryEndsEarlyWhenCancelled) {
  Cancellation cancel;
  RetryPolicy p{.initial_backoff = milliseconds(1)};
  EXPECT_TRUE(wait_before_retry(p, 1, std::nullopt, {.url = "http://h/x", .reason = "r"}, &cancel));
  cancel.cancel();
  // A 10-minute wait: returns at once, refusing the retry.
  RetryPolicy slow{.initial_backoff = milliseconds(600000), .max_backoff = milliseconds(600000)};
  EXPECT_FALSE(
      wait_before_retry(slow, 1, std::nullopt, {.url = "http://h/x", .reason = "r"}, &cancel));
}

}  // namespace
TEST(RetryAfter, SecondsAndDates) {
  using namespace std::chrono;
  EXPECT_EQ(http::parse_retry_after("120"), seconds(120));
  EXPECT_EQ(http::parse_retry_after(" 0 "), seconds(0));
  auto now = system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), seconds(10));
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), seconds(0));
  EXPECT_FALSE(http::parse_retry_after("soon"));
  EXPECT_FALSE(http::parse_retry_after(""));
  EXPECT_FALSE(http::parse_retry_after("-5"));
}

}  // namespace de::ffi::http
