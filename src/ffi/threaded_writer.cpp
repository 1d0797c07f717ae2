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

class ThreadedWriter final : public FillableWriter {
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
      auto room = DE_TRY(space());
      size_t n = std::min(data.size(), room.size());
      std::memcpy(room.data(), data.data(), n);
      fill_ += n;
      data = data.subspan(n);
    }
    return check_worker();
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
    return check_worker();
  }

  // Drains the queue, stops the worker, then closes `next_` on this thread.
  Status close() override {
    if (closed_) return fail(Code::Internal, "threaded writer closed twice");
    closed_ = true;
    if (fill_ > 0) {
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
  // Fail early when the worker already failed, even if this write only filled the buffer.
  Status check_worker() {
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
      queue_.push_back({std::move(current_), fill_});
    }
    current_ = {};
    fill_ = 0;
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
      auto [buf, size] = std::move(queue_.front());
      queue_.pop_front();
      if (!error_) {
        lock.unlock();
        Status st = next_->write(std::span<const std::byte>(buf.data(), size));
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
  std::vector<std::byte> current_;  // producer-only: the buffer being filled (full size)
  size_t fill_ = 0;                 // producer-only: bytes of current_ holding data
  bool closed_ = false;             // producer-only

  std::mutex mutex_;
  std::condition_variable work_ready_;   // worker waits: queue non-empty, finishing or abandon
  std::condition_variable buffer_free_;  // producer waits: a buffer came back, or an error
  std::deque<std::pair<std::vector<std::byte>, size_t>> queue_;  // buffer, bytes of data
  std::vector<std::vector<std::byte>> free_;
  size_t allocated_ = 0;  // buffers created so far; at most queue_buffers_
  std::optional<Error> error_;
  bool finishing_ = false;
  bool abandon_ = false;

  std::thread worker_;  // last: started after everything it uses is constructed
};

}  // namespace

std::unique_ptr<FillableWriter> make_threaded_writer(std::unique_ptr<Writer> next,
                                                     size_t queue_buffers, size_t buffer_size) {
  return std::make_unique<ThreadedWriter>(std::move(next), queue_buffers, buffer_size);
}

}  // namespace de::ffi
