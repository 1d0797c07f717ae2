#include "ffi/http_retry.hpp"

#include <algorithm>
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

}  // namespace de::ffi::http
