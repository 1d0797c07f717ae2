// Private: the one retry policy of the library's HTTP clients (conda channels and packages over
// conda::HttpFetcher, registries over registry::RegistryClient): which answers are worth another
// attempt, how long to wait before it, how many attempts in all, and how an interrupted download
// asks for the rest. The loops stay with the callers (what a retry sends again differs: a
// conditional GET, a token round, a blob into the cache); the decisions are made here.
//
// Transfer failures (no complete response) carry their own verdict in TransferError::transient
// (connection reset, timeout, partial transfer: see http.hpp).
//
// Failing fast: a HostBreaker shared by the sessions of one run gives up on a host that no
// attempt could reach, so that the hundreds of URLs of a lock file on a dead host fail once, not
// each after its own retries; and the waits before retries end early when the operation is
// cancelled (de::Cancellation: another part of it failed).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ffi/http.hpp"

namespace de::ffi::http {

struct RetryPolicy {
  int max_attempts = 4;  // attempts in all, the first one included
  // The wait before retry n (1 = the first retry) is initial_backoff * 2^(n-1), at most
  // max_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{32000};
  // Scale each wait by a random factor in [0.75, 1.25), so that parallel transfers hit by one
  // outage do not retry in lockstep.
  bool jitter = false;
  // A response's Retry-After (already parsed) replaces the wait, capped at this. Unset: ignored.
  std::optional<std::chrono::seconds> max_retry_after;

  // Whether an attempt may follow `attempts` attempts.
  bool may_retry(int attempts) const { return attempts < max_attempts; }
};

// Retry-After: delta-seconds or an HTTP-date (relative to `now`). nullopt when unparseable;
// a date in the past is zero.
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// 408, 429, 500, 502, 503, 504: the server may answer differently later.
bool is_transient_status(long status);

// The wait before retry `retry` (1 = the first retry). `retry_after`: the response's Retry-After;
// `random` picks the jitter (any value; the factor is 0.75 + (random % 50) / 100).
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      std::optional<std::chrono::seconds> retry_after,
                                      std::uint32_t random);

// As above, the jitter from a per-thread generator.
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      std::optional<std::chrono::seconds> retry_after);

// What a retry is for, as `-v` shows it.
struct RetryNote {
  std::string_view url;     // redacted here before it is shown
  std::string_view reason;  // what went wrong: "HTTP 503", a transfer error
};

// Before retry `retry` (1 = the first retry): logs one line at debug level (`-v`: "retrying URL
// (attempt N of M) in D ms: REASON") and sleeps for retry_delay(). Returns false, early, when
// `cancel` is cancelled before the wait ends: the caller gives up.
bool wait_before_retry(const RetryPolicy& policy, int retry,
                       std::optional<std::chrono::seconds> retry_after, const RetryNote& note,
                       const Cancellation* cancel = nullptr);

// "host[:port]" of an http(s) URL, lowercase, without user information ("" when there is none).
std::string url_host(std::string_view url);

// A per-host circuit breaker, shared by the sessions of one run (SessionOptions::breaker): after
// `limit` consecutive attempts that reached no server of a host (TransferError::unreachable:
// refused, not resolved, connect timeout, nothing received), every further request to that host
// fails at once, without a retry, with the last of those errors. Any answer from the host
// (a response, or a transfer that broke after connecting) resets its count. Thread-safe.
class HostBreaker {
 public:
  explicit HostBreaker(int limit = 4) : limit_(limit) {}
  // Why a request to the host of `url` is not tried, or nullopt when it may be.
  std::optional<std::string> refusal(std::string_view url) const;
  void unreachable(std::string_view url, std::string_view detail);
  void reached(std::string_view url);

 private:
  struct HostState {
    int failures = 0;  // consecutive
    std::string detail;
  };
  int limit_;
  mutable std::mutex mutex_;
  std::map<std::string, HostState, std::less<>> hosts_;
};

// Asks for a download's bytes from `offset` on (after `offset` bytes reached the sink): a Range
// header, and only a 206 feeds the sink, so that a server ignoring Range (200, the whole body)
// cannot append its body after the partial one. Nothing changes for offset 0.
void resume_at(Request& request, std::uint64_t offset);

}  // namespace de::ffi::http
