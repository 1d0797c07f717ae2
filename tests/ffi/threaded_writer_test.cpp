// Tests for make_threaded_writer and make_threaded_fanout: order, error propagation, clean shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "ffi/codec_test_util.hpp"
#include "ffi/compress.hpp"

namespace de::ffi {
namespace {

// Forwards to a StringWriter it does not own; optionally slow, optionally failing after a limit.
// Records the thread it ran on. Used by one thread at a time (the worker), read after join.
class ProbeWriter final : public Writer {
 public:
  struct Shared {
    StringWriter out;
    int closes = 0;
    std::thread::id writer_thread;
  };
  ProbeWriter(Shared& shared, size_t fail_after = SIZE_MAX, int sleep_ms = 0)
      : shared_(shared), fail_after_(fail_after), sleep_ms_(sleep_ms) {}

  using Writer::write;
  Status write(std::span<const std::byte> data) override {
    shared_.writer_thread = std::this_thread::get_id();
    if (sleep_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (shared_.out.str().size() + data.size() > fail_after_)
      return fail(Code::Io, "writing blob: disk full (injected)");
    return shared_.out.write(data);
  }
  Status close() override {
    ++shared_.closes;
    return {};
  }

 private:
  Shared& shared_;
  size_t fail_after_;
  int sleep_ms_;
};

TEST(ThreadedWriter, PassesBytesInOrderOnAnotherThread) {
  std::string data = test::random_bytes((3 << 20) + 7, 1);
  for (size_t buffer_size : {size_t{1}, size_t{1000}, size_t{1} << 20}) {
    SCOPED_TRACE("buffer_size " + std::to_string(buffer_size));
    ProbeWriter::Shared shared;
    auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared), 2, buffer_size);
    std::string_view part = buffer_size == 1 ? std::string_view(data).substr(0, 20000) : data;
    ASSERT_TRUE(test::write_in_odd_chunks(*w, part));
    ASSERT_TRUE(w->close());
    EXPECT_EQ(shared.closes, 1);
    EXPECT_TRUE(shared.out.str() == part);
    EXPECT_NE(shared.writer_thread, std::this_thread::get_id());
  }
}

// prepare()/commit() lend the queue buffers; mixed with write(), partial and empty commits,
// the bytes arrive in order.
TEST(ThreadedWriter, FillsLentBuffersInPlace) {
  std::string data = test::random_bytes((1 << 20) + 333, 2);
  for (size_t buffer_size : {size_t{1}, size_t{1000}, size_t{1} << 16}) {
    SCOPED_TRACE("buffer_size " + std::to_string(buffer_size));
    ProbeWriter::Shared shared;
    auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared), 2, buffer_size);
    std::string_view rest = buffer_size == 1 ? std::string_view(data).substr(0, 5000) : data;
    std::string_view all = rest;
    for (size_t step = 0; !rest.empty(); ++step) {
      if (step % 3 == 2) {
        size_t n = std::min<size_t>(rest.size(), 777);
        ASSERT_TRUE(w->write(rest.substr(0, n)));
        rest.remove_prefix(n);
        continue;
      }
      auto room = w->prepare();
      ASSERT_TRUE(room);
      ASSERT_FALSE(room->empty());
      size_t n = std::min({rest.size(), room->size(), step % 5 == 4 ? size_t{0} : 4099});
      std::memcpy(room->data(), rest.data(), n);
      ASSERT_TRUE(w->commit(n));
      rest.remove_prefix(n);
    }
    auto room = w->prepare();
    ASSERT_TRUE(room);
    EXPECT_FALSE(w->commit(room->size() + 1));  // more than was lent
    ASSERT_TRUE(w->close());
    EXPECT_TRUE(shared.out.str() == all);
    EXPECT_FALSE(w->prepare());  // after close
  }
}

TEST(ThreadedWriter, EmptyStreamStillCloses) {
  ProbeWriter::Shared shared;
  auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared));
  ASSERT_TRUE(w->close());
  EXPECT_EQ(shared.closes, 1);
  EXPECT_EQ(shared.out.str(), "");
}

TEST(ThreadedWriter, WorkerErrorSurfacesOnALaterWriteOrClose) {
  ProbeWriter::Shared shared;
  auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared, 10000), 2, 4096);
  std::string chunk(1000, 'x');
  Status st;
  for (int i = 0; i < 1000 && st; ++i) st = w->write(chunk);
  Status closed = w->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), Code::Io);
  EXPECT_NE(closed.error().message().find("disk full"), std::string::npos);
  ASSERT_FALSE(st) << "1 MB into a writer that fails after 10 kB should fail some write()";
  EXPECT_EQ(st.error().message(), closed.error().message());
  EXPECT_EQ(shared.closes, 0);  // a failed stream is not closed
}

TEST(ThreadedWriter, ErrorOnTheLastBufferSurfacesOnClose) {
  ProbeWriter::Shared shared;
  auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared, 10), 4, 1 << 20);
  ASSERT_TRUE(w->write(std::string(100, 'y')));  // buffered only; the worker has not seen it
  Status closed = w->close();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), Code::Io);
}

TEST(ThreadedWriter, DestroyWithoutCloseJoinsCleanly) {
  ProbeWriter::Shared shared;
  {
    auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared, SIZE_MAX, 5), 2, 1000);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(w->write(std::string(999, 'z')));
  }  // abandoned: must not hang, must not close the inner writer
  EXPECT_EQ(shared.closes, 0);
  EXPECT_LE(shared.out.str().size(), 20u * 999u);
}

TEST(ThreadedWriter, SlowConsumerBlocksProducerWithoutLosingData) {
  ProbeWriter::Shared shared;
  auto w = make_threaded_writer(std::make_unique<ProbeWriter>(shared, SIZE_MAX, 1), 2, 512);
  std::string data = test::compressible_bytes(40000, 2);
  ASSERT_TRUE(test::write_in_odd_chunks(*w, data, {100, 3000, 1}));
  ASSERT_TRUE(w->close());
  EXPECT_TRUE(shared.out.str() == data);
}

TEST(ThreadedWriter, CompressesOnTheWorker) {
  // The layer pipeline's shape: producer -> threaded writer -> gzip -> sink.
  std::string data = test::compressible_bytes((4 << 20) + 1, 3);
  test::ClosingStringWriter sink;
  auto gz = make_compressor(Compression::Gzip, sink).value();
  auto w = make_threaded_writer(std::move(gz));
  ASSERT_TRUE(test::write_in_odd_chunks(*w, data));
  ASSERT_TRUE(w->close());
  EXPECT_EQ(sink.closes(), 1);
  // Same bytes as compressing on this thread: the worker changes where, not what.
  EXPECT_TRUE(sink.str() == test::compress_string(Compression::Gzip, data).value());
  EXPECT_TRUE(test::decompress_string(Compression::Gzip, sink.str()).value() == data);
}

// make_threaded_fanout: each chain gets every byte, in order, on its own thread, including when
// one chain is much slower than the other (the buffers wait for both).
TEST(ThreadedFanout, EveryChainGetsAllBytesOnItsOwnThread) {
  std::string data = test::random_bytes((2 << 20) + 11, 4);
  for (size_t buffer_size : {size_t{1000}, size_t{1} << 16}) {
    for (int slow : {0, 1}) {
      SCOPED_TRACE("buffer_size " + std::to_string(buffer_size) + " slow " + std::to_string(slow));
      ProbeWriter::Shared a, b;
      std::vector<std::unique_ptr<Writer>> sinks;
      sinks.push_back(std::make_unique<ProbeWriter>(a, SIZE_MAX, slow));
      sinks.push_back(std::make_unique<ProbeWriter>(b));
      auto w = make_threaded_fanout(std::move(sinks), 3, buffer_size);
      std::string_view part = slow ? std::string_view(data).substr(0, 50000) : data;
      std::string_view rest = part;
      for (size_t step = 0; !rest.empty(); ++step) {  // lent buffers and write() mixed
        if (step % 2 == 0) {
          size_t n = std::min<size_t>(rest.size(), 3001);
          ASSERT_TRUE(w->write(rest.substr(0, n)));
          rest.remove_prefix(n);
          continue;
        }
        auto room = w->prepare();
        ASSERT_TRUE(room);
        size_t n = std::min({rest.size(), room->size(), size_t{5003}});
        std::memcpy(room->data(), rest.data(), n);
        ASSERT_TRUE(w->commit(n));
        rest.remove_prefix(n);
      }
      ASSERT_TRUE(w->close());
      EXPECT_EQ(a.closes, 1);
      EXPECT_EQ(b.closes, 1);
      EXPECT_TRUE(a.out.str() == part);
      EXPECT_TRUE(b.out.str() == part);
      EXPECT_NE(a.writer_thread, std::this_thread::get_id());
      EXPECT_NE(b.writer_thread, std::this_thread::get_id());
      EXPECT_NE(a.writer_thread, b.writer_thread);
    }
  }
}

// The first chain to fail stops the others: the producer sees the error instead of blocking on a
// buffer the failed chain will never release, and no chain is closed.
TEST(ThreadedFanout, OneChainFailingStopsAll) {
  for (size_t failing : {size_t{0}, size_t{1}}) {
    SCOPED_TRACE("failing chain " + std::to_string(failing));
    ProbeWriter::Shared shared[2];
    std::vector<std::unique_ptr<Writer>> sinks;
    for (size_t i = 0; i < 2; ++i)
      sinks.push_back(std::make_unique<ProbeWriter>(shared[i], i == failing ? 10000 : SIZE_MAX));
    auto w = make_threaded_fanout(std::move(sinks), 2, 4096);
    std::string chunk(1000, 'x');
    Status st;
    for (int i = 0; i < 1000 && st; ++i) st = w->write(chunk);
    Status closed = w->close();
    ASSERT_FALSE(closed);
    EXPECT_NE(closed.error().message().find("disk full"), std::string::npos);
    ASSERT_FALSE(st);
    EXPECT_EQ(shared[0].closes + shared[1].closes, 0);
    EXPECT_LE(shared[failing].out.str().size(), 10000u);
  }
}

TEST(ThreadedFanout, DestroyWithoutCloseJoinsCleanly) {
  ProbeWriter::Shared a, b;
  {
    std::vector<std::unique_ptr<Writer>> sinks;
    sinks.push_back(std::make_unique<ProbeWriter>(a, SIZE_MAX, 5));
    sinks.push_back(std::make_unique<ProbeWriter>(b));
    auto w = make_threaded_fanout(std::move(sinks), 2, 1000);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(w->write(std::string(999, 'z')));
  }  // abandoned: must not hang, must not close the chains
  EXPECT_EQ(a.closes + b.closes, 0);
  // Bounded queue: no chain gets more than the queued buffers ahead of the other.
  EXPECT_LE(a.out.str().size(), b.out.str().size() + 2000);
  EXPECT_LE(b.out.str().size(), a.out.str().size() + 2000);
}

}  // namespace
}  // namespace de::ffi
