#include "docker_envs/base/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

namespace de {

unsigned thread_count(unsigned requested, std::size_t items) {
  unsigned threads = requested;
  if (threads == 0)
    threads = std::clamp(std::thread::hardware_concurrency(), 1u, kMaxDefaultThreads);
  return static_cast<unsigned>(std::clamp<std::size_t>(items, 1, threads));
}

Status parallel_for_workers(std::size_t n, unsigned threads,
                            const std::function<Status(std::size_t, unsigned)>& fn) {
  if (n == 0) return {};
  const unsigned count = thread_count(threads, n);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::size_t failed_at = n;
  std::optional<Error> error;
  auto worker = [&](unsigned w) {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status status;
      try {
        status = fn(i, w);
      } catch (const std::exception& e) {
        status = fail(Code::Internal, "item {}: unexpected exception: {}", i, e.what());
      } catch (...) {
        status = fail(Code::Internal, "item {}: unexpected exception", i);
      }
      if (!status) {
        std::lock_guard lock(error_mutex);
        if (i < failed_at) {
          failed_at = i;
          error = std::move(status).error();
        }
        stop = true;
      }
    }
  };
  {
    std::vector<Thread> pool;
    pool.reserve(count - 1);
    for (unsigned w = 1; w < count; ++w) pool.emplace_back([&worker, w] { worker(w); });
    worker(0);
  }
  if (error) return std::unexpected(std::move(*error));
  return {};
}

bool Cancellation::cancel() {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = !flag_.exchange(true, std::memory_order_acq_rel);
  }
  woken_.notify_all();
  return first;
}

bool Cancellation::sleep_for(std::chrono::milliseconds duration) const {
  std::unique_lock lock(mutex_);
  return !woken_.wait_for(lock, duration, [&] { return cancelled(); });
}

Status parallel_for_cancelling(std::size_t n, unsigned threads, Cancellation& cancel,
                               const std::function<Status(std::size_t, unsigned)>& fn) {
  std::optional<Error> first;  // written once, by the call that cancelled
  Status status = parallel_for_workers(n, threads, [&](std::size_t i, unsigned w) -> Status {
    Status item = fn(i, w);
    if (!item && cancel.cancel()) first = item.error();
    return item;
  });
  if (first) return std::unexpected(std::move(*first));
  return status;
}

Thread::Thread(std::function<void()> fn) : thread_(std::move(fn)) {}

}  // namespace de
