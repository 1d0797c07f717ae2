// gzip (RFC 1952) over ISA-L's igzip: a streaming compressor and a multi-member decompressor.
//
// Neither type is thread-safe; each owns its ISA-L state exclusively.
#include <isa-l/igzip_lib.h>

#include <array>
#include <climits>
#include <cstdint>
#include <optional>

#include "ffi/codec_impl.hpp"

namespace de::ffi::detail {
namespace {

// The codec sees input in chunks of this size (see FixedChunker). 1 MiB keeps the per-call
// overhead negligible; changing it changes the compressed bytes, so treat it as part of the format.
constexpr size_t kDeflateChunk = 1 << 20;
constexpr size_t kDeflateOut = 256 << 10;
constexpr size_t kInflateIn = 256 << 10;

// Fixed gzip header: deflate, no flags (no name, no comment), mtime 0, XFL 0, OS 255 ("unknown",
// as Go's compress/gzip writes). Nothing here depends on the host or the time.
constexpr std::array<std::uint8_t, 10> kGzipHeader = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};

// ISA-L asks for its stream state's hash table to be cache-line aligned.
struct alignas(64) DeflateState {
  isal_zstream z;
};
struct alignas(64) InflateState {
  inflate_state s;
};

// The level buffer sizes ISA-L documents as the default for each level (what `igzip -N` uses).
constexpr std::array<uint32_t, 4> kLevelBufSize = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                                   ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};

class GzipCompressor final : public ChunkedCompressor {
 public:
  GzipCompressor(Writer& next, int level)
      : ChunkedCompressor(next, kDeflateChunk, kDeflateOut),
        state_(std::make_unique<DeflateState>()),
        level_buf_(kLevelBufSize[static_cast<size_t>(level)] > 0
                       ? new std::uint8_t[kLevelBufSize[static_cast<size_t>(level)]]
                       : nullptr) {
    isal_zstream& z = state_->z;
    isal_deflate_init(&z);
    z.level = static_cast<uint32_t>(level);
    z.level_buf = level_buf_.get();
    z.level_buf_size = kLevelBufSize[static_cast<size_t>(level)];
    z.gzip_flag = IGZIP_GZIP_NO_HDR;  // we write the header; ISA-L writes CRC32 + ISIZE
    z.flush = NO_FLUSH;
    std::memcpy(out(), kGzipHeader.data(), kGzipHeader.size());
    out_used_ = kGzipHeader.size();
  }

 private:
  // Compresses one chunk (< 4 GiB, as avail_in is 32-bit); with `end`, finishes the stream.
  Status compress_chunk(std::span<const std::byte> chunk, bool end) override {
    isal_zstream& z = state_->z;
    z.next_in = reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(chunk.data()));
    z.avail_in = static_cast<uint32_t>(chunk.size());
    z.end_of_stream = end ? 1 : 0;
    while (z.avail_in > 0 || (end && z.internal_state.state != ZSTATE_END)) {
      if (out_used_ == kDeflateOut) DE_TRY(flush_out());
      z.next_out = reinterpret_cast<std::uint8_t*>(out()) + out_used_;
      z.avail_out = static_cast<uint32_t>(kDeflateOut - out_used_);
      uint32_t in_before = z.avail_in;
      int rc = isal_deflate(&z);
      if (rc != COMP_OK) return fail(Code::Internal, "gzip compression failed (ISA-L error {})", rc);
      size_t produced = kDeflateOut - out_used_ - z.avail_out;
      out_used_ += produced;
      // ISA-L returns when input is consumed or output is full; anything else would loop forever.
      if (produced == 0 && z.avail_in == in_before && out_used_ < kDeflateOut &&
          z.internal_state.state != ZSTATE_END)
        return fail(Code::Internal, "gzip compression made no progress");
    }
    return {};
  }

  std::unique_ptr<DeflateState> state_;
  std::unique_ptr<std::uint8_t[]> level_buf_;  // ISA-L's work memory for levels >= 1
};

std::string_view inflate_error_text(int rc) {
  switch (rc) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unsupported gzip compression method";
    case ISAL_INCORRECT_CHECKSUM: return "CRC mismatch (or length mismatch) in gzip trailer";
    case ISAL_NEED_DICT: return "deflate stream needs a preset dictionary";
    default: return "unknown ISA-L inflate error";
  }
}

class GzipDecompressor final : public Reader {
 public:
  explicit GzipDecompressor(std::unique_ptr<Reader> inner)
      : inner_(std::move(inner)),
        state_(std::make_unique<InflateState>()),
        in_(new std::uint8_t[kInflateIn]) {
    isal_inflate_init(&state_->s);
    state_->s.crc_flag = ISAL_GZIP;  // parse the header, verify CRC32 and ISIZE of each member
  }

  Result<size_t> read(std::span<std::byte> buf) override {
    if (error_) return std::unexpected(*error_);
    auto n = read_some(buf);
    if (!n) error_ = n.error();
    return n;
  }

 private:
  Result<size_t> read_some(std::span<std::byte> buf) {
    if (done_ || buf.empty()) return 0;
    inflate_state& s = state_->s;
    while (true) {
      if (s.block_state == ISAL_BLOCK_FINISH) {
        // One member is complete; another may follow (`cat a.gz b.gz`).
        if (s.avail_in == 0) DE_TRY(refill());
        if (s.avail_in == 0) {
          done_ = true;
          return 0;
        }
        std::uint8_t* next_in = s.next_in;
        uint32_t avail_in = s.avail_in;
        isal_inflate_reset(&s);
        s.crc_flag = ISAL_GZIP;
        s.next_in = next_in;
        s.avail_in = avail_in;
        ++member_;
      }
      if (s.avail_in == 0 && !eof_) DE_TRY(refill());
      s.next_out = reinterpret_cast<std::uint8_t*>(buf.data());
      s.avail_out = static_cast<uint32_t>(std::min<size_t>(buf.size(), UINT32_MAX));
      int rc = isal_inflate(&s);
      if (rc < 0) {
        if (member_ > 0 && rc == ISAL_INVALID_WRAPPER)
          return fail(Code::Corruption, "unexpected data after gzip member {}", member_);
        return fail(Code::Corruption, "gzip stream is corrupt: {} (member {})",
                    inflate_error_text(rc), member_ + 1);
      }
      size_t produced = std::min<size_t>(buf.size(), UINT32_MAX) - s.avail_out;
      if (produced > 0) return produced;
      if (s.block_state == ISAL_BLOCK_FINISH) continue;
      // With output space and no output, ISA-L needs input; at the end of the input, that means
      // the member stopped short.
      if (eof_ && s.avail_in == 0)
        return fail(Code::Corruption, "gzip stream is truncated (after {} bytes)", consumed_);
    }
  }

  Status refill() {
    if (eof_) return {};
    size_t n = DE_TRY(inner_->read(std::span(reinterpret_cast<std::byte*>(in_.get()), kInflateIn)));
    if (n == 0) eof_ = true;
    consumed_ += n;
    state_->s.next_in = in_.get();
    state_->s.avail_in = static_cast<uint32_t>(n);
    return {};
  }

  std::unique_ptr<Reader> inner_;
  std::unique_ptr<InflateState> state_;
  std::unique_ptr<std::uint8_t[]> in_;
  std::uint64_t consumed_ = 0;
  size_t member_ = 0;  // members completed before the current one
  bool eof_ = false;
  bool done_ = false;
  std::optional<Error> error_;  // sticky, as Reader requires
};

}  // namespace

Result<std::unique_ptr<Writer>> make_gzip_compressor(Writer& next, int level) {
  if (level == -1) level = 1;
  if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL)
    return fail(Code::InvalidArgument, "gzip level {} is out of range (ISA-L supports {}..{})",
                level, ISAL_DEF_MIN_LEVEL, ISAL_DEF_MAX_LEVEL);
  return std::make_unique<GzipCompressor>(next, level);
}

Result<std::unique_ptr<Reader>> make_gzip_decompressor(std::unique_ptr<Reader> inner) {
  return std::make_unique<GzipDecompressor>(std::move(inner));
}

}  // namespace de::ffi::detail
