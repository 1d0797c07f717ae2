#include "ffi/http_retry.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <random>
#include <string>
#include <thread>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/redact.hpp"

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

bool wait_before_retry(const RetryPolicy& policy, int retry,
                       std::optional<std::chrono::seconds> retry_after, const RetryNote& note,
                       const Cancellation* cancel) {
  if (cancel && cancel->cancelled()) return false;
  auto delay = retry_delay(policy, retry, retry_after);
  log::debug("retrying {} (attempt {} of {}) in {} ms: {}", redact_url(note.url), retry + 1,
             policy.max_attempts, delay.count(), note.reason);
  if (cancel) return cancel->sleep_for(delay);
  std::this_thread::sleep_for(delay);
  return true;
}

std::string url_host(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string host(rest);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

std::optional<std::string> HostBreaker::refusal(std::string_view url) const {
  std::string host = url_host(url);
  std::lock_guard lock(mutex_);
  auto it = hosts_.find(host);
  if (it == hosts_.end() || it->second.failures < limit_) return std::nullopt;
  return fmt::format("{} (not tried: {} attempts in a row could not reach {})", it->second.detail,
                     it->second.failures, host);
}

void HostBreaker::unreachable(std::string_view url, std::string_view detail) {
  std::string host = url_host(url);
  std::lock_guard lock(mutex_);
  auto& state = hosts_[host];
  ++state.failures;
  state.detail = std::string(detail);
}

void HostBreaker::reached(std::string_view url) {
  std::string host = url_host(url);
  std::lock_guard lock(mutex_);
  if (auto it = hosts_.find(host); it != hosts_.end()) it->second.failures = 0;
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
