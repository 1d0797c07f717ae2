// Private to src/ffi: the codec factories behind make_compressor/make_decompressor, and a helper
// the compressors share.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

#include "ffi/compress.hpp"

namespace de::ffi::detail {

// gzip via ISA-L (gzip.cpp). Levels 0..3; -1 means 1.
Result<std::unique_ptr<Writer>> make_gzip_compressor(Writer& next, int level);
Result<std::unique_ptr<Reader>> make_gzip_decompressor(std::unique_ptr<Reader> inner);

// zstd via libzstd (zstd.cpp). Levels 1..ZSTD_maxCLevel(); -1 means 3.
Result<std::unique_ptr<Writer>> make_zstd_compressor(Writer& next, int level);
Result<std::unique_ptr<Reader>> make_zstd_decompressor(std::unique_ptr<Reader> inner);

// Cuts whatever sizes the caller writes into chunks of exactly `chunk_size` bytes. The compressors
// feed their codec only through this, so the codec sees the same sequence of calls for the same
// input however it was split into write() calls. Measured (ISA-L 2.30, zstd 1.5.4): ISA-L's
// stateful deflate emits different bytes for different call sizes, and zstd records the content
// size only when all input arrives in one call; the output must depend on the input bytes alone
// (reproducible layer digests).
// Large writes are passed through without copying when no partial chunk is pending.
class FixedChunker {
 public:
  explicit FixedChunker(size_t chunk_size)
      : chunk_size_(chunk_size), pending_(new std::byte[chunk_size]) {}

  // Calls consume(span) with each completed chunk, in order; stops at the first error.
  template <class Consume>
  Status feed(std::span<const std::byte> data, Consume&& consume) {
    if (used_ > 0) {
      size_t n = std::min(data.size(), chunk_size_ - used_);
      std::memcpy(pending_.get() + used_, data.data(), n);
      used_ += n;
      data = data.subspan(n);
      if (used_ < chunk_size_) return {};
      used_ = 0;
      if (auto st = consume(std::span<const std::byte>(pending_.get(), chunk_size_)); !st) return st;
    }
    while (data.size() >= chunk_size_) {
      if (auto st = consume(data.first(chunk_size_)); !st) return st;
      data = data.subspan(chunk_size_);
    }
    std::memcpy(pending_.get(), data.data(), data.size());
    used_ = data.size();
    return {};
  }

  // The final, partial chunk (possibly empty); valid until the next feed().
  std::span<const std::byte> rest() const { return {pending_.get(), used_}; }

 private:
  size_t chunk_size_;
  std::unique_ptr<std::byte[]> pending_;
  size_t used_ = 0;
};

// The write/close protocol both compressors share: input cut into fixed chunks (FixedChunker),
// output gathered in a buffer handed to `next` when full, errors sticky (a failed stream cannot be
// continued), close() finishing the stream and then closing `next`. A subclass compresses one
// chunk into the buffer.
class ChunkedCompressor : public Writer {
 public:
  using Writer::write;
  Status write(std::span<const std::byte> data) final {
    if (error_) return std::unexpected(*error_);
    if (closed_) return fail(Code::Internal, "write after close on a compressor");
    return remember(chunker_.feed(
        data, [this](std::span<const std::byte> c) { return compress_chunk(c, /*end=*/false); }));
  }

  Status close() final {
    if (error_) return std::unexpected(*error_);
    if (closed_) return fail(Code::Internal, "compressor closed twice");
    closed_ = true;
    DE_TRY(remember(compress_chunk(chunker_.rest(), /*end=*/true)));
    DE_TRY(remember(flush_out()));
    return next_.close();
  }

 protected:
  ChunkedCompressor(Writer& next, size_t chunk_size, size_t out_size)
      : out_size_(out_size), out_(new std::byte[out_size]), next_(next), chunker_(chunk_size) {}

  // Compresses one chunk into out_[out_used_, out_size_), calling flush_out() when the buffer is
  // full; with `end`, finishes the stream.
  virtual Status compress_chunk(std::span<const std::byte> chunk, bool end) = 0;

  Status flush_out() {
    if (out_used_ == 0) return {};
    DE_TRY(next_.write(std::span<const std::byte>(out_.get(), out_used_)));
    out_used_ = 0;
    return {};
  }

  std::byte* out() { return out_.get(); }
  const size_t out_size_;
  size_t out_used_ = 0;

 private:
  Status remember(Status st) {
    if (!st) error_ = st.error();
    return st;
  }

  std::unique_ptr<std::byte[]> out_;
  Writer& next_;
  FixedChunker chunker_;
  bool closed_ = false;
  std::optional<Error> error_;
};

}  // namespace de::ffi::detail
