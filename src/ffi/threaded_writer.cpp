// make_threaded_writer: runs a Writer chain on its own thread behind a bounded buffer queue.
//
// Threading: the ThreadedWriter object itself is used by one producer thread (like every Writer);
// `next_` is touched only by the worker thread until the worker has been joined, after which the
// producer thread may close it. `mutex_` guards the queues and the flags below it.
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "ffi/compress.hpp"

namespace de::ffi {
namespace {

class ThreadedWriter final : public Writer {
 public:
  ThreadedWriter(std::unique_ptr<Writer> next, size_t queue_buffers, size_t buffer_size)
      : next_(std::move(next)),
        queue_buffers_(std::max<size_t>(queue_buffers, 1)),
        buffer_size_(std::max<size_t>(buffer_size, 1)) {
    worker_ = std::thread([this] { run(); });
  }

  // Without close(), the output is abandoned (as for any Writer): the worker stops at the next
  // buffer boundary, queued data is dropped, and `next_` is destroyed unclosed.
  ~ThreadedWriter() override {
    {
      std::lock_guard lock(mutex_);
      abandon_ = true;
    }
    work_ready_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    if (closed_) return fail(Code::Internal, "write after close on a threaded writer");
    while (!data.empty()) {
      if (current_.empty() || current_.size() == buffer_size_) {
        if (!current_.empty()) DE_TRY(submit());
        DE_TRY(take_free_buffer());
      }
      size_t n = std::min(data.size(), buffer_size_ - current_.size());
      current_.insert(current_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      data = data.subspan(n);
    }
    // Fail early when the worker already failed, even if this write only filled the buffer.
    std::lock_guard lock(mutex_);
    if (error_) return std::unexpected(*error_);
    return {};
  }

  // Drains the queue, stops the worker, then closes `next_` on this thread.
  Status close() override {
    if (closed_) return fail(Code::Internal, "threaded writer closed twice");
    closed_ = true;
    if (!current_.empty()) {
      if (auto st = submit(); !st) {
        stop_worker();
        return st;
      }
    }
    stop_worker();
    if (error_) return std::unexpected(*error_);
    return next_->close();
  }

 private:
  // Waits for a recycled (or new, up to queue_buffers_ in all) buffer to fill.
  Status take_free_buffer() {
    std::unique_lock lock(mutex_);
    buffer_free_.wait(lock, [&] { return error_ || !free_.empty() || allocated_ < queue_buffers_; });
    if (error_) return std::unexpected(*error_);
    if (!free_.empty()) {
      current_ = std::move(free_.back());
      free_.pop_back();
    } else {
      ++allocated_;
      current_.reserve(buffer_size_);
    }
    current_.clear();
    return {};
  }

  Status submit() {
    {
      std::lock_guard lock(mutex_);
      if (error_) return std::unexpected(*error_);
      queue_.push_back(std::move(current_));
    }
    current_ = {};
    work_ready_.notify_one();
    return {};
  }

  void stop_worker() {
    {
      std::lock_guard lock(mutex_);
      finishing_ = true;
    }
    work_ready_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      work_ready_.wait(lock, [&] { return abandon_ || finishing_ || !queue_.empty(); });
      if (abandon_) return;
      if (queue_.empty()) return;  // finishing_ and drained
      std::vector<std::byte> buf = std::move(queue_.front());
      queue_.pop_front();
      if (!error_) {
        lock.unlock();
        Status st = next_->write(buf);
        lock.lock();
        // After an error, later buffers are dropped so the producer never blocks on a full queue.
        if (!st) error_ = st.error();
      }
      free_.push_back(std::move(buf));
      buffer_free_.notify_one();
    }
  }

  std::unique_ptr<Writer> next_;
  const size_t queue_buffers_;
  const size_t buffer_size_;
  std::vector<std::byte> current_;  // producer-only: the buffer being filled
  bool closed_ = false;             // producer-only

  std::mutex mutex_;
  std::condition_variable work_ready_;   // worker waits: queue non-empty, finishing or abandon
  std::condition_variable buffer_free_;  // producer waits: a buffer came back, or an error
  std::deque<std::vector<std::byte>> queue_;
  std::vector<std::vector<std::byte>> free_;
  size_t allocated_ = 0;  // buffers created so far; at most queue_buffers_
  std::optional<Error> error_;
  bool finishing_ = false;
  bool abandon_ = false;

  std::thread worker_;  // last: started after everything it uses is constructed
};

}  // namespace

std::unique_ptr<Writer> make_threaded_writer(std::unique_ptr<Writer> next, size_t queue_buffers,
                                             size_t buffer_size) {
  return std::make_unique<ThreadedWriter>(std::move(next), queue_buffers, buffer_size);
}

}  // namespace de::ffi
