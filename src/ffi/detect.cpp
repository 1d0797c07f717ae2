#include "ffi/compress.hpp"

namespace de::ffi {

Compression detect_compression(std::span<const std::byte> head) {
  auto at = [&](size_t i) { return std::to_integer<unsigned>(head[i]); };
  if (head.size() >= 2 && at(0) == 0x1f && at(1) == 0x8b) return Compression::Gzip;
  if (head.size() >= 4 && at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd)
    return Compression::Zstd;
  if (head.size() >= 3 && at(0) == 'B' && at(1) == 'Z' && at(2) == 'h') return Compression::Bzip2;
  return Compression::None;
}

}  // namespace de::ffi
