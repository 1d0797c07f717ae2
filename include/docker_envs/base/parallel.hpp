// Runs independent work items on a few threads.
#pragma once

#include <cstddef>
#include <functional>

namespace de {

// Calls fn(i) for every i in [0, n), on up to `threads` threads (the caller's included; 0 = one
// per core). Items are handed out in index order; fn must not throw. Returns when all are done.
void parallel_for(std::size_t n, unsigned threads, const std::function<void(std::size_t)>& fn);

}  // namespace de
