// The library's threads: one parallel loop over independent items, and a dedicated thread for the
// few long-lived workers (pipelines, prefetching). Every thread the library starts comes from
// here.
//
// Thread-count policy (thread_count): a caller asks for a number of threads; 0 means one per core
// (std::thread::hardware_concurrency) but at most kMaxDefaultThreads. Never more threads than
// items, never fewer than one. The calling thread is one of them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de {

inline constexpr unsigned kMaxDefaultThreads = 16;

// How many threads a parallel loop over `items` items runs on when `requested` are asked for.
unsigned thread_count(unsigned requested, std::size_t items);

// Calls fn(i, worker) for every i in [0, n) on thread_count(threads, n) threads; `worker` numbers
// the thread (0 is the caller's), so per-worker state can live in a vector of that size. Items are
// handed out in index order. After the first failure no further item is started (items already
// running finish: with N threads at most N-1 of them); the error of the lowest failed index is
// returned, which does not depend on timing. An exception thrown by fn becomes an Internal error
// of its item.
Status parallel_for_workers(std::size_t n, unsigned threads,
                            const std::function<Status(std::size_t i, unsigned worker)>& fn);

// Stops the work in flight of one operation once a part of it has failed: long waits (retry
// back-off) and transfers check it and give up early. Thread-safe.
class Cancellation {
 public:
  // Cancels; true for the call that did it (the first), false when it was cancelled already.
  bool cancel();
  bool cancelled() const { return flag_.load(std::memory_order_acquire); }
  // Sleeps for `duration`, waking early when cancelled; false when cancelled.
  bool sleep_for(std::chrono::milliseconds duration) const;

 private:
  std::atomic<bool> flag_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable woken_;
};

// As parallel_for_workers, but the first item to fail also cancels `cancel`, which the items
// hand to what they wait for (downloads), so that the items in flight stop early instead of
// finishing. Their failures are consequences: the error returned is that of the item that failed
// first.
Status parallel_for_cancelling(std::size_t n, unsigned threads, Cancellation& cancel,
                               const std::function<Status(std::size_t i, unsigned worker)>& fn);

// As parallel_for_workers, for items that need no per-worker state.
inline Status parallel_for(std::size_t n, unsigned threads,
                           const std::function<Status(std::size_t i)>& fn) {
  return parallel_for_workers(n, threads, [&](std::size_t i, unsigned) { return fn(i); });
}

// As parallel_for, with a State made by init(worker) on each worker thread before its first item
// (a parser, a session, a cache handle) and handed to fn(state, i) for every item it runs.
template <class Init, class Fn>
Status parallel_for_each_worker(std::size_t n, unsigned threads, Init&& init, Fn&& fn) {
  using State = std::invoke_result_t<Init&, unsigned>;
  std::vector<std::optional<State>> states(thread_count(threads, n));
  return parallel_for_workers(n, threads, [&](std::size_t i, unsigned worker) -> Status {
    auto& state = states[worker];
    if (!state) state.emplace(init(worker));
    return fn(*state, i);
  });
}

// A dedicated thread of the library, joined on destruction. `fn` must not throw.
class Thread {
 public:
  explicit Thread(std::function<void()> fn);
  Thread(Thread&&) noexcept = default;
  Thread& operator=(Thread&&) noexcept = default;
  ~Thread() = default;  // std::jthread joins
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::jthread thread_;
};

}  // namespace de
