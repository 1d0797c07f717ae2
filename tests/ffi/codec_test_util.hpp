// Helpers shared by the ffi codec tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/io.hpp"
#include "ffi/compress.hpp"

namespace de::test {

// Incompressible bytes.
inline std::string random_bytes(size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    std::uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Text-like bytes that compress a few times over (like a tar of source files).
inline std::string compressible_bytes(size_t size, std::uint64_t seed) {
  static constexpr std::string_view kWords[] = {
      "conda", "layer", "image", "python", "numpy", "site-packages", "lib", "include", "\n",
      "def ", "return ", "import ", "    ", "0.1.2", "sha256", "{", "}", "manifest", ", "};
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(size + 32);
  while (s.size() < size) {
    s += kWords[rng() % std::size(kWords)];
    if (rng() % 7 == 0) s += std::to_string(rng() % 100000);
  }
  s.resize(size);
  return s;
}

// Writes `data` in a cycle of awkward sizes (1 byte, primes, more than the codecs' chunk size).
inline Status write_in_odd_chunks(Writer& w, std::string_view data,
                                  const std::vector<size_t>& sizes = {1, 7, 4093, 65537, 3,
                                                                      (1 << 20) + 5, 511}) {
  size_t i = 0;
  for (size_t off = 0; off < data.size(); ++i) {
    size_t n = std::min(sizes[i % sizes.size()], data.size() - off);
    if (auto st = w.write(data.substr(off, n)); !st) return st;
    off += n;
  }
  return {};
}

// A StringWriter that records whether close() reached it.
class ClosingStringWriter final : public Writer {
 public:
  using Writer::write;
  Status write(std::span<const std::byte> data) override { return inner_.write(data); }
  Status close() override {
    ++closes_;
    return {};
  }
  const std::string& str() const { return inner_.str(); }
  int closes() const { return closes_; }

 private:
  StringWriter inner_;
  int closes_ = 0;
};

// Returns at most `max` bytes per read(): exercises short reads.
class TrickleReader final : public Reader {
 public:
  TrickleReader(std::string data, size_t max) : inner_(std::move(data)), max_(max) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    return inner_.read(buf.first(std::min(buf.size(), max_)));
  }

 private:
  StringReader inner_;
  size_t max_;
};

inline Result<std::string> compress_string(Compression c, std::string_view data,
                                           ffi::CompressorOptions options = {}) {
  StringWriter out;
  auto w = DE_TRY(ffi::make_compressor(c, out, options));
  DE_TRY(write_in_odd_chunks(*w, data));
  DE_TRY(w->close());
  return out.take();
}

// Reads to the end with a cycle of output buffer sizes (1 byte up to 1 MiB), so that codecs are
// exercised with output space ending mid-symbol.
inline Result<std::string> read_all_odd(Reader& r) {
  static constexpr size_t kSizes[] = {1, 13, 65536, 4099, 1 << 20, 2};
  std::string out;
  std::vector<std::byte> buf(1 << 20);
  for (size_t i = 0;; ++i) {
    size_t n = DE_TRY(r.read(std::span(buf).first(kSizes[i % std::size(kSizes)])));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

inline Result<std::string> decompress_string(Compression c, std::string data,
                                             size_t read_max = 1 << 30) {
  auto r = DE_TRY(
      ffi::make_decompressor(c, std::make_unique<TrickleReader>(std::move(data), read_max)));
  return read_all_odd(*r);
}

}  // namespace de::test
