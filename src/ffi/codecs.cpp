// make_compressor / make_decompressor / make_auto_decompressor: choose a codec by format.
#include <algorithm>
#include <cstring>

#include "ffi/codec_impl.hpp"

namespace de::ffi {
namespace {

// Compression::None: bytes go straight to `next` (not owned); close() closes it.
class PassThroughWriter final : public Writer {
 public:
  explicit PassThroughWriter(Writer& next) : next_(next) {}
  using Writer::write;
  Status write(std::span<const std::byte> data) override { return next_.write(data); }
  Status close() override { return next_.close(); }

 private:
  Writer& next_;
};

// Gives back the bytes make_auto_decompressor peeked at, then continues with `inner` (owned).
class PrefixReader final : public Reader {
 public:
  PrefixReader(std::string prefix, std::unique_ptr<Reader> inner)
      : prefix_(std::move(prefix)), inner_(std::move(inner)) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    if (pos_ < prefix_.size()) {
      size_t n = std::min(buf.size(), prefix_.size() - pos_);
      std::memcpy(buf.data(), prefix_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return inner_->read(buf);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<Reader> inner_;
};

constexpr std::string_view kBzip2Unsupported =
    "bzip2 streams are not supported (layers and packages come as gzip, zstd or uncompressed)";

}  // namespace

Result<std::unique_ptr<Writer>> make_compressor(Compression c, Writer& next,
                                                const CompressorOptions& options) {
  switch (c) {
    case Compression::None: return std::make_unique<PassThroughWriter>(next);
    case Compression::Gzip: return detail::make_gzip_compressor(next, options.level);
    case Compression::Zstd: return detail::make_zstd_compressor(next, options.level);
    case Compression::Bzip2: return fail(Code::Unsupported, std::string(kBzip2Unsupported));
  }
  return fail(Code::Internal, "unknown compression {}", static_cast<int>(c));
}

Result<std::unique_ptr<Reader>> make_decompressor(Compression c, std::unique_ptr<Reader> inner) {
  switch (c) {
    case Compression::None: return inner;
    case Compression::Gzip: return detail::make_gzip_decompressor(std::move(inner));
    case Compression::Zstd: return detail::make_zstd_decompressor(std::move(inner));
    case Compression::Bzip2: return fail(Code::Unsupported, std::string(kBzip2Unsupported));
  }
  return fail(Code::Internal, "unknown compression {}", static_cast<int>(c));
}

Result<std::unique_ptr<Reader>> make_auto_decompressor(std::unique_ptr<Reader> inner) {
  // Four bytes tell every format apart (zstd's magic is the longest). Reads may be short, so
  // keep reading until we have them or the stream ends.
  constexpr size_t kMagic = 4;
  std::string head(kMagic, '\0');
  size_t have = 0;
  while (have < kMagic) {
    size_t n = DE_TRY(inner->read(std::as_writable_bytes(std::span(head)).subspan(have)));
    if (n == 0) break;
    have += n;
  }
  head.resize(have);
  Compression c = detect_compression(as_bytes(head));
  return make_decompressor(c, std::make_unique<PrefixReader>(std::move(head), std::move(inner)));
}

}  // namespace de::ffi
