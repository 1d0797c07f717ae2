// Private RAII wrappers over libsolv (pool, queue, solver). Only the conda solver backend
// includes this header; libsolv types never reach a public header.
//
// Ownership: PoolOwner owns a Pool and everything in it (repos, solvables, strings); SolverOwner
// owns a Solver created from a pool and must be destroyed before the pool (declare it after the
// PoolOwner). Queue owns its buffer. None of them is thread-safe.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

// libsolv's Solvable has a member named `requires`, a C++20 keyword: the headers are read with
// the member renamed to `requires_` (same layout), so C++ code writes `s->requires_`.
#define requires requires_
extern "C" {
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/problems.h>
#include <solv/queue.h>
#include <solv/repo.h>
#include <solv/rules.h>
#include <solv/solvable.h>
#include <solv/solver.h>
}
#undef requires

namespace de::ffi::solv {

struct PoolDeleter {
  void operator()(::Pool* p) const { pool_free(p); }
};
using PoolOwner = std::unique_ptr<::Pool, PoolDeleter>;
inline PoolOwner make_pool() { return PoolOwner(pool_create()); }

struct SolverDeleter {
  void operator()(::Solver* s) const { solver_free(s); }
};
using SolverOwner = std::unique_ptr<::Solver, SolverDeleter>;
inline SolverOwner make_solver(::Pool* pool) { return SolverOwner(solver_create(pool)); }

// A libsolv Queue (a growable Id array) with RAII.
class Queue {
 public:
  Queue() { queue_init(&q_); }
  ~Queue() { queue_free(&q_); }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  ::Queue* get() { return &q_; }
  void push(Id id) { queue_push(&q_, id); }
  void push2(Id a, Id b) { queue_push2(&q_, a, b); }
  void clear() { queue_empty(&q_); }
  int size() const { return q_.count; }
  Id operator[](int i) const { return q_.elements[i]; }
  std::span<const Id> ids() const { return {q_.elements, static_cast<size_t>(q_.count)}; }

 private:
  ::Queue q_;
};

}  // namespace de::ffi::solv
