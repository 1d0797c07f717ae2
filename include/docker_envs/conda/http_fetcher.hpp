// Fetching conda channels and packages over http(s), and a Fetcher for any channel URL.
//
// HttpFetcher runs on the private libcurl wrapper: TLS verification on, redirects followed,
// transient failures (connection errors, timeouts, 408/429/5xx) retried with backoff, an
// interrupted body resumed with a Range request; each retry is logged at debug level (`-v`).
// Failing fast: a host that `max_attempts` attempts in a row could not reach (connection refused,
// name not resolved, connect timeout, nothing received) is given up on for the fetcher's lifetime
// (one run): every later URL of that host fails at once with that error. A transfer whose
// FetchConditions::cancel is cancelled stops, retries included. Errors name the URL with tokens
// and passwords redacted (redact_url). It is thread-safe: each transfer borrows a session from a
// small pool.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "docker_envs/conda/channel.hpp"

namespace de::conda {

struct HttpFetcherOptions {
  int max_attempts = 4;
  // Wait before the n-th retry: initial_backoff * 2^(n-1), at most 64 * initial_backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds stall_timeout{60};
  // A PEM bundle trusted in addition to the system store ("" for none).
  std::string extra_ca_file;
  // Bodies read through open() (not fetch_to) are held in memory up to this size.
  std::size_t max_in_memory = std::size_t{4} << 30;
};

class HttpFetcher final : public Fetcher {
 public:
  explicit HttpFetcher(const HttpFetcherOptions& options = {});
  ~HttpFetcher() override;
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;

  Result<std::unique_ptr<Reader>> open(const std::string& url) override;
  Result<FetchOutcome> fetch_to(const std::string& url, Writer& out,
                                const FetchConditions& conditions = {}) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Fetcher for file://, http:// and https:// URLs (Unsupported for other schemes).
std::unique_ptr<Fetcher> make_fetcher(const HttpFetcherOptions& http_options = {});

}  // namespace de::conda
