// Content digests ("sha256:<64 hex>") and streaming SHA-256.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de {

// A SHA-256 content digest. Stored as bytes; "sha256:<hex>" is only its text form. Other algorithms
// (sha512) are refused by parse() as Unsupported.
class Digest {
 public:
  static constexpr size_t kSize = 32;
  using Bytes = std::array<std::uint8_t, kSize>;

  Digest() = default;  // all zero; use only as a placeholder
  explicit Digest(const Bytes& bytes) : bytes_(bytes) {}

  // Accepts "sha256:<64 lowercase hex>".
  static Result<Digest> parse(std::string_view text);
  // Accepts "<64 hex>" (as used in file names and conda repodata).
  static Result<Digest> from_hex(std::string_view hex);
  // SHA-256 of a whole buffer.
  static Digest of(std::string_view data);

  const Bytes& bytes() const { return bytes_; }
  std::string hex() const;
  std::string to_string() const { return "sha256:" + hex(); }

  friend auto operator<=>(const Digest&, const Digest&) = default;
  friend bool operator==(const Digest&, const Digest&) = default;

 private:
  Bytes bytes_{};
};

// Incremental SHA-256 (OpenSSL EVP). Not thread-safe; movable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const std::byte> data);
  void update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }
  // Feeds `data` preceded by its length ("<size>:"), so that a sequence of fields hashes
  // unambiguously: no two different sequences give the same stream (cache keys are built so).
  void update_field(std::string_view data) {
    update(std::to_string(data.size()) + ":");
    update(data);
  }
  // Returns the digest of everything fed so far; the hasher is then reset.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// MD5 as hex, for conda records that only carry md5.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(Md5&&) noexcept;
  Md5& operator=(Md5&&) noexcept;
  void update(std::span<const std::byte> data);
  std::string finish_hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace de

template <>
struct fmt::formatter<de::Digest> : fmt::formatter<std::string> {
  auto format(const de::Digest& d, format_context& ctx) const {
    return fmt::formatter<std::string>::format(d.to_string(), ctx);
  }
};
