#include "ffi/http_retry.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>
#include <random>
#include <thread>

#include "docker_envs/base/error.hpp"

namespace de::ffi::http {

bool is_transient_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      std::optional<std::chrono::seconds> retry_after,
                                      std::uint32_t random) {
  using std::chrono::milliseconds;
  milliseconds delay = policy.initial_backoff * (1LL << std::clamp(retry - 1, 0, 16));
  delay = std::min(delay, policy.max_backoff);
  if (policy.jitter) delay = milliseconds(delay.count() * (75 + random % 50) / 100);
  if (retry_after && policy.max_retry_after)
    delay = std::min<milliseconds>(*retry_after, *policy.max_retry_after);
  return delay;
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int retry,
                                      std::optional<std::chrono::seconds> retry_after) {
  thread_local std::minstd_rand rng(std::random_device{}());
  return retry_delay(policy, retry, retry_after, static_cast<std::uint32_t>(rng()));
}

std::chrono::milliseconds wait_before_retry(const RetryPolicy& policy, int retry,
                                            std::optional<std::chrono::seconds> retry_after) {
  auto delay = retry_delay(policy, retry, retry_after);
  std::this_thread::sleep_for(delay);
  return delay;
}

void resume_at(Request& request, std::uint64_t offset) {
  if (offset == 0) return;
  request.headers.push_back(fmt::format("Range: bytes={}-", offset));
  request.sink_status = 206;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::seconds(999999999);
    long seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);  // <= 9 digits: fits
    return std::chrono::seconds(seconds);
  }
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return std::chrono::seconds(0);
  return std::chrono::duration_cast<std::chrono::seconds>(when - now);
}

}  // namespace de::ffi::http
