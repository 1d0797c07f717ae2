// make_threaded_writer / make_threaded_fanout: runs one or more Writer chains, each on its own
// thread, behind a bounded queue of buffers that every chain reads in the same order.
//
// Threading: the ThreadedWriter object itself is used by one producer thread (like every Writer);
// `sinks_[i]` is touched only by worker i until the workers have been joined, after which the
// producer thread may close the sinks. `mutex_` guards the queue and the fields below it. A queued
// buffer's bytes are read by the workers without the lock: the producer never touches a buffer
// after submitting it, and a buffer goes back to the free list (under the lock) only once every
// worker is done with it.
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "docker_envs/base/parallel.hpp"
#include "ffi/compress.hpp"

namespace de::ffi {
namespace {

class ThreadedWriter final : public FillableWriter {
 public:
  ThreadedWriter(std::vector<std::unique_ptr<Writer>> sinks, size_t queue_buffers,
                 size_t buffer_size)
      : sinks_(std::move(sinks)),
        queue_buffers_(std::max<size_t>(queue_buffers, 1)),
        buffer_size_(std::max<size_t>(buffer_size, 1)) {
    workers_.reserve(sinks_.size());
    for (size_t i = 0; i < sinks_.size(); ++i) workers_.emplace_back([this, i] { run(i); });
  }

  // Without close(), the output is abandoned (as for any Writer): the workers stop at the next
  // buffer boundary, queued data is dropped, and the sinks are destroyed unclosed.
  ~ThreadedWriter() override {
    {
      std::lock_guard lock(mutex_);
      abandon_ = true;
    }
    work_ready_.notify_all();
    join_workers();
  }

  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    if (closed_) return fail(Code::Internal, "write after close on a threaded writer");
    while (!data.empty()) {
      auto room = DE_TRY(space());
      size_t n = std::min(data.size(), room.size());
      std::memcpy(room.data(), data.data(), n);
      fill_ += n;
      data = data.subspan(n);
    }
    return check_workers();
  }

  Result<std::span<std::byte>> prepare() override {
    if (closed_) return fail(Code::Internal, "write after close on a threaded writer");
    return space();
  }

  Status commit(size_t n) override {
    if (closed_) return fail(Code::Internal, "write after close on a threaded writer");
    if (n > current_.size() - fill_)
      return fail(Code::Internal, "threaded writer: commit of {} bytes, {} prepared", n,
                  current_.size() - fill_);
    fill_ += n;
    return check_workers();
  }

  // Drains the queue, stops the workers, then closes the sinks in order on this thread.
  Status close() override {
    if (closed_) return fail(Code::Internal, "threaded writer closed twice");
    closed_ = true;
    if (fill_ > 0) {
      if (auto st = submit(); !st) {
        stop_workers();
        return st;
      }
    }
    stop_workers();
    if (error_) return std::unexpected(*error_);
    for (auto& sink : sinks_) DE_TRY(sink->close());
    return {};
  }

 private:
  struct Queued {
    std::vector<std::byte> buffer;  // full size; `size` bytes of it are data
    size_t size;
    size_t pending;  // workers that have not written it yet
  };

  // Fail early when a worker already failed, even if this write only filled the buffer.
  Status check_workers() {
    std::lock_guard lock(mutex_);
    if (error_) return std::unexpected(*error_);
    return {};
  }

  // The unfilled part of the current buffer; a full one is queued and a free one taken first.
  Result<std::span<std::byte>> space() {
    if (current_.empty() || fill_ == current_.size()) {
      if (fill_ > 0) DE_TRY(submit());
      DE_TRY(take_free_buffer());
    }
    return std::span<std::byte>(current_.data() + fill_, current_.size() - fill_);
  }

  // Waits for a recycled (or new, up to queue_buffers_ in all) buffer to fill. Buffers keep their
  // full size; `fill_` (and a queued buffer's size) says how much of one is data.
  Status take_free_buffer() {
    std::unique_lock lock(mutex_);
    buffer_free_.wait(lock, [&] { return error_ || !free_.empty() || allocated_ < queue_buffers_; });
    if (error_) return std::unexpected(*error_);
    if (!free_.empty()) {
      current_ = std::move(free_.back());
      free_.pop_back();
    } else {
      ++allocated_;
      current_.resize(buffer_size_);
    }
    fill_ = 0;
    return {};
  }

  Status submit() {
    {
      std::lock_guard lock(mutex_);
      if (error_) return std::unexpected(*error_);
      queue_.push_back({std::move(current_), fill_, sinks_.size()});
    }
    current_ = {};
    fill_ = 0;
    work_ready_.notify_all();
    return {};
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex_);
      finishing_ = true;
    }
    work_ready_.notify_all();
    join_workers();
  }

  void join_workers() {
    for (auto& w : workers_) w.join();
  }

  // Worker `index`: writes every queued buffer, in order, to sinks_[index]. The queue holds the
  // buffers some worker still needs; `front_seq_` numbers its first one. After an error every
  // worker stops (the producer sees the error instead of waiting for a buffer).
  void run(size_t index) {
    Writer& sink = *sinks_[index];
    std::uint64_t next = 0;  // sequence number of the next buffer this worker writes
    std::unique_lock lock(mutex_);
    while (true) {
      work_ready_.wait(lock, [&] {
        return abandon_ || error_ || finishing_ || next < front_seq_ + queue_.size();
      });
      if (abandon_ || error_) return;
      if (next == front_seq_ + queue_.size()) return;  // finishing_ and drained
      // Stays in place while unlocked: deque::push_back keeps references valid, and this buffer
      // is not popped before its `pending` reaches zero, which needs this worker.
      Queued& q = queue_[next - front_seq_];
      lock.unlock();
      Status st = sink.write(std::span<const std::byte>(q.buffer.data(), q.size));
      lock.lock();
      ++next;
      if (!st) {
        if (!error_) error_ = st.error();
        work_ready_.notify_all();
        buffer_free_.notify_all();
        return;
      }
      // Workers pass buffers in order, so the last one done with a buffer is done with all the
      // earlier ones too: it is the front of the queue.
      if (--q.pending == 0) {
        while (!queue_.empty() && queue_.front().pending == 0) {
          free_.push_back(std::move(queue_.front().buffer));
          queue_.pop_front();
          ++front_seq_;
        }
        buffer_free_.notify_one();
      }
    }
  }

  std::vector<std::unique_ptr<Writer>> sinks_;
  const size_t queue_buffers_;
  const size_t buffer_size_;
  std::vector<std::byte> current_;  // producer-only: the buffer being filled (full size)
  size_t fill_ = 0;                 // producer-only: bytes of current_ holding data
  bool closed_ = false;             // producer-only

  std::mutex mutex_;
  std::condition_variable work_ready_;   // workers wait: a buffer queued, finishing, error, abandon
  std::condition_variable buffer_free_;  // producer waits: a buffer came back, or an error
  std::deque<Queued> queue_;
  std::uint64_t front_seq_ = 0;  // sequence number of queue_.front()
  std::vector<std::vector<std::byte>> free_;
  size_t allocated_ = 0;  // buffers created so far; at most queue_buffers_
  std::optional<Error> error_;
  bool finishing_ = false;
  bool abandon_ = false;

  // Last: started after everything they use is constructed. Long-lived stages that run beside the
  // producer, so dedicated threads of base rather than a parallel loop (which blocks its caller).
  std::vector<Thread> workers_;
};

}  // namespace

std::unique_ptr<FillableWriter> make_threaded_writer(std::unique_ptr<Writer> next,
                                                     size_t queue_buffers, size_t buffer_size) {
  std::vector<std::unique_ptr<Writer>> sinks;
  sinks.push_back(std::move(next));
  return std::make_unique<ThreadedWriter>(std::move(sinks), queue_buffers, buffer_size);
}

std::unique_ptr<FillableWriter> make_threaded_fanout(std::vector<std::unique_ptr<Writer>> sinks,
                                                     size_t queue_buffers, size_t buffer_size) {
  return std::make_unique<ThreadedWriter>(std::move(sinks), queue_buffers, buffer_size);
}

}  // namespace de::ffi
