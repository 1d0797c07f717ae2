// zstd (RFC 8878) over libzstd's streaming API: a single-threaded compressor and a multi-frame
// decompressor.
//
// Neither type is thread-safe; each owns its libzstd context exclusively.
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ffi/codec_impl.hpp"

namespace de::ffi::detail {
namespace {

// Input chunk size for the compressor (see FixedChunker); part of what determines the output bytes.
constexpr size_t kZstdChunk = 1 << 20;
// Largest window a frame may ask the decompressor to allocate (128 MiB, libzstd's own default): a
// hostile layer must not make us reserve gigabytes. Frames made with --long=31 are refused.
constexpr int kMaxWindowLog = 27;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
using CCtxPtr = std::unique_ptr<ZSTD_CCtx, CCtxDeleter>;
using DCtxPtr = std::unique_ptr<ZSTD_DCtx, DCtxDeleter>;

class ZstdCompressor final : public ChunkedCompressor {
 public:
  ZstdCompressor(Writer& next, CCtxPtr cctx)
      : ChunkedCompressor(next, kZstdChunk, ZSTD_CStreamOutSize()), cctx_(std::move(cctx)) {}

 private:
  Status compress_chunk(std::span<const std::byte> chunk, bool end) override {
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer in{chunk.data(), chunk.size(), 0};
    while (true) {
      if (out_used_ == out_size_) DE_TRY(flush_out());
      ZSTD_outBuffer out{this->out(), out_size_, out_used_};
      size_t remaining = ZSTD_compressStream2(cctx_.get(), &out, &in, mode);
      if (ZSTD_isError(remaining))
        return fail(Code::Internal, "zstd compression failed: {}", ZSTD_getErrorName(remaining));
      out_used_ = out.pos;
      // e_continue is done once the input is consumed; e_end once the frame is fully flushed.
      if (mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0) return {};
    }
  }

  CCtxPtr cctx_;
};

// What a failed ZSTD_decompressStream call means: a window past kMaxWindowLog, or damage.
Error decompress_error(size_t code) {
  if (ZSTD_getErrorCode(code) == ZSTD_error_frameParameter_windowTooLarge)
    return Error(Code::Unsupported,
                 fmt::format("zstd frame needs a window larger than the {} MiB this reader allows",
                             (size_t{1} << kMaxWindowLog) >> 20));
  return Error(Code::Corruption, fmt::format("zstd stream is corrupt: {}", ZSTD_getErrorName(code)));
}

class ZstdDecompressor final : public Reader {
 public:
  ZstdDecompressor(std::unique_ptr<Reader> inner, DCtxPtr dctx)
      : inner_(std::move(inner)),
        dctx_(std::move(dctx)),
        in_size_(ZSTD_DStreamInSize()),
        in_buf_(new std::byte[in_size_]) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    if (error_) return std::unexpected(*error_);
    auto n = read_some(buf);
    if (!n) error_ = n.error();
    return n;
  }

 private:
  Result<size_t> read_some(std::span<std::byte> buf) {
    if (buf.empty()) return 0;
    while (true) {
      if (in_.pos == in_.size && !eof_) DE_TRY(refill());
      if (eof_ && in_.pos == in_.size && frame_complete_) return 0;
      ZSTD_outBuffer out{buf.data(), buf.size(), 0};
      size_t in_before = in_.pos;
      size_t hint = ZSTD_decompressStream(dctx_.get(), &out, &in_);
      if (ZSTD_isError(hint)) return std::unexpected(decompress_error(hint));
      // 0 means a frame was completely decoded and flushed; another may follow.
      frame_complete_ = hint == 0;
      if (in_.pos > in_before || out.pos > 0) started_ = true;
      if (out.pos > 0) return out.pos;
      if (eof_ && in_.pos == in_.size) {
        if (frame_complete_ && started_) return 0;
        return fail(Code::Corruption, "zstd stream is truncated (after {} bytes)", consumed_);
      }
    }
  }

  Status refill() {
    size_t n = DE_TRY(inner_->read(std::span(in_buf_.get(), in_size_)));
    if (n == 0) eof_ = true;
    consumed_ += n;
    in_ = ZSTD_inBuffer{in_buf_.get(), n, 0};
    return {};
  }

  std::unique_ptr<Reader> inner_;
  DCtxPtr dctx_;
  size_t in_size_;
  std::unique_ptr<std::byte[]> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  std::uint64_t consumed_ = 0;
  bool eof_ = false;
  bool started_ = false;         // any input consumed: an empty stream is not a valid zstd stream
  bool frame_complete_ = false;  // the last frame seen was fully decoded
  std::optional<Error> error_;   // sticky, as Reader requires
};

}  // namespace

Result<std::unique_ptr<Writer>> make_zstd_compressor(Writer& next, int level) {
  if (level == -1) level = 3;
  if (level < 1 || level > ZSTD_maxCLevel())
    return fail(Code::InvalidArgument, "zstd level {} is out of range (1..{})", level,
                ZSTD_maxCLevel());
  CCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) return fail(Code::Internal, "zstd: cannot allocate a compression context");
  auto set = [&](ZSTD_cParameter p, int v) -> Status {
    size_t rc = ZSTD_CCtx_setParameter(cctx.get(), p, v);
    if (ZSTD_isError(rc))
      return fail(Code::Internal, "zstd: setting parameter {} to {}: {}", static_cast<int>(p), v,
                  ZSTD_getErrorName(rc));
    return {};
  };
  DE_TRY(set(ZSTD_c_compressionLevel, level));
  DE_TRY(set(ZSTD_c_checksumFlag, 1));  // as the zstd CLI does: readers can verify the content
  // Single-threaded on purpose: worker count would otherwise shape the frames, and with them the
  // layer digest. Parallelism comes from the pipeline (make_threaded_writer) instead.
  DE_TRY(set(ZSTD_c_nbWorkers, 0));
  return std::make_unique<ZstdCompressor>(next, std::move(cctx));
}

namespace {
Result<DCtxPtr> new_dctx() {
  DCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx) return fail(Code::Internal, "zstd: cannot allocate a decompression context");
  size_t rc = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kMaxWindowLog);
  if (ZSTD_isError(rc))
    return fail(Code::Internal, "zstd: limiting the window size: {}", ZSTD_getErrorName(rc));
  return dctx;
}
}  // namespace

Result<std::unique_ptr<Reader>> make_zstd_decompressor(std::unique_ptr<Reader> inner) {
  auto dctx = DE_TRY(new_dctx());
  return std::make_unique<ZstdDecompressor>(std::move(inner), std::move(dctx));
}

}  // namespace de::ffi::detail

namespace de::ffi {

Result<std::string> zstd_compress(std::string_view data, int level) {
  if (level < 1 || level > ZSTD_maxCLevel())
    return fail(Code::InvalidArgument, "zstd level {} is out of range (1..{})", level,
                ZSTD_maxCLevel());
  detail::CCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) return fail(Code::Internal, "zstd: cannot allocate a compression context");
  for (auto [p, v] : {std::pair{ZSTD_c_compressionLevel, level}, std::pair{ZSTD_c_checksumFlag, 1},
                      std::pair{ZSTD_c_contentSizeFlag, 1}, std::pair{ZSTD_c_nbWorkers, 0}})
    if (size_t rc = ZSTD_CCtx_setParameter(cctx.get(), p, v); ZSTD_isError(rc))
      return fail(Code::Internal, "zstd: setting parameter {} to {}: {}", static_cast<int>(p), v,
                  ZSTD_getErrorName(rc));
  std::string out;
  size_t written = 0;
  const size_t bound = ZSTD_compressBound(data.size());
  out.resize_and_overwrite(bound, [&](char* p, size_t) {
    written = ZSTD_compress2(cctx.get(), p, bound, data.data(), data.size());
    return ZSTD_isError(written) ? 0 : written;
  });
  if (ZSTD_isError(written))
    return fail(Code::Internal, "zstd compression failed: {}", ZSTD_getErrorName(written));
  out.shrink_to_fit();
  return out;
}

Result<std::string> zstd_decompress(std::string_view data, size_t limit) {
  // The size every frame records, when each records one (skippable frames hold nothing).
  std::uint64_t total = 0;
  bool sized = true;
  for (std::string_view rest = data; !rest.empty();) {
    size_t frame = ZSTD_findFrameCompressedSize(rest.data(), rest.size());
    if (ZSTD_isError(frame))
      return fail(Code::Corruption, "zstd data is corrupt or truncated (after {} bytes): {}",
                  data.size() - rest.size(), ZSTD_getErrorName(frame));
    unsigned long long size = ZSTD_getFrameContentSize(rest.data(), frame);
    if (size == ZSTD_CONTENTSIZE_ERROR)
      return fail(Code::Corruption, "zstd frame header is corrupt (after {} bytes)",
                  data.size() - rest.size());
    if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
      sized = false;
    } else if (sized) {
      if (size > limit - total)
        return fail(Code::Corruption, "zstd data decompresses to more than {} bytes", limit);
      total += size;
    }
    rest.remove_prefix(frame);
  }
  if (data.empty()) return fail(Code::Corruption, "zstd data is empty");
  auto dctx = DE_TRY(detail::new_dctx());
  std::string out;
  if (sized) {
    // One allocation of the right size, written once.
    size_t got = 0;
    out.resize_and_overwrite(static_cast<size_t>(total), [&](char* p, size_t) {
      got = ZSTD_decompressDCtx(dctx.get(), p, static_cast<size_t>(total), data.data(),
                                data.size());
      return ZSTD_isError(got) ? 0 : got;
    });
    if (ZSTD_isError(got))
      return fail(Code::Corruption, "zstd data is corrupt: {}", ZSTD_getErrorName(got));
    if (got != total)
      return fail(Code::Corruption, "zstd data holds {} bytes, its frames say {}", got, total);
    return out;
  }
  // Streamed into the string as it grows: a frame without its size (written by a streaming
  // compressor) is only known once decoded.
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t hint = 1;  // 0 once the frame being read is complete and flushed
  while (in.pos < in.size || hint != 0) {
    if (out.size() == limit)
      return fail(Code::Corruption, "zstd data decompresses to more than {} bytes", limit);
    const size_t used = out.size(), in_before = in.pos;
    const size_t room = std::min(limit, std::max(used * 2, data.size() * 4 + 4096));
    size_t produced = 0;
    // The size passed to the callback is not used: libstdc++ 12 passes the capacity it allocated,
    // which can be larger than asked.
    out.resize_and_overwrite(room, [&](char* p, size_t) {
                               ZSTD_outBuffer o{p + used, room - used, 0};
                               hint = ZSTD_decompressStream(dctx.get(), &o, &in);
                               produced = o.pos;
                               return ZSTD_isError(hint) ? used : used + o.pos;
                             });
    if (ZSTD_isError(hint)) return std::unexpected(detail::decompress_error(hint));
    if (produced == 0 && in.pos == in_before)
      return fail(Code::Corruption, "zstd data is truncated (after {} bytes)", data.size());
  }
  out.shrink_to_fit();
  return out;
}

}  // namespace de::ffi
