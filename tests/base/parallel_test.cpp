#include "docker_envs/base/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace de {
namespace {

TEST(ParallelFor, CallsEveryIndexOnce) {
  for (unsigned threads : {0u, 1u, 2u, 7u}) {
    std::vector<std::atomic<int>> calls(1000);
    parallel_for(calls.size(), threads, [&](std::size_t i) { calls[i].fetch_add(1); });
    for (std::size_t i = 0; i < calls.size(); ++i) ASSERT_EQ(calls[i].load(), 1) << i;
  }
}

TEST(ParallelFor, NothingToDoCallsNothing) {
  int calls = 0;
  parallel_for(0, 4, [&](std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelFor, UsesSeveralThreadsAndNoMoreThanAsked) {
  std::mutex m;
  std::set<std::thread::id> seen;
  std::atomic<int> waiting{0};
  parallel_for(2, 2, [&](std::size_t) {
    {
      std::lock_guard lock(m);
      seen.insert(std::this_thread::get_id());
    }
    // Each item waits for the other: only two threads running at once finish.
    waiting.fetch_add(1);
    while (waiting.load() < 2) std::this_thread::yield();
  });
  EXPECT_EQ(seen.size(), 2u);
  seen.clear();
  parallel_for(50, 1, [&](std::size_t) { seen.insert(std::this_thread::get_id()); });
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen.contains(std::this_thread::get_id()));
}

}  // namespace
}  // namespace de
