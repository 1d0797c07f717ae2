#include "docker_envs/base/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace de {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not canonical in OCI digests
}

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpCtx = std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter>;

EvpCtx new_ctx(const EVP_MD* md) {
  EvpCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
    throw std::runtime_error("OpenSSL digest initialisation failed");
  return ctx;
}

}  // namespace

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2)
    return fail(Code::InvalidArgument, "digest '{}' must have 64 hex characters", hex);
  Bytes bytes{};
  for (size_t i = 0; i < kSize; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return fail(Code::InvalidArgument, "digest '{}' is not lowercase hex", hex);
    bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return Digest(bytes);
}

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(Code::InvalidArgument, "digest '{}' has no algorithm prefix", text);
  auto algorithm = text.substr(0, colon);
  if (algorithm != "sha256")
    return fail(Code::Unsupported, "digest algorithm '{}' is not supported (only sha256)", algorithm);
  return from_hex(text.substr(colon + 1));
}

Digest Digest::of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

std::string Digest::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kSize * 2, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[bytes_[i] >> 4];
    out[2 * i + 1] = kHex[bytes_[i] & 0xf];
  }
  return out;
}

struct Sha256::Impl {
  EvpCtx ctx = new_ctx(EVP_sha256());
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

Digest Sha256::finish() {
  Digest::Bytes bytes{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx.get(), bytes.data(), &len);
  EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr);
  return Digest(bytes);
}

struct Md5::Impl {
  EvpCtx ctx = new_ctx(EVP_md5());
};

Md5::Md5() : impl_(std::make_unique<Impl>()) {}
Md5::~Md5() = default;
Md5::Md5(Md5&&) noexcept = default;
Md5& Md5::operator=(Md5&&) noexcept = default;

void Md5::update(std::span<const std::byte> data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

std::string Md5::finish_hex() {
  unsigned char bytes[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx.get(), bytes, &len);
  EVP_DigestInit_ex(impl_->ctx.get(), EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace de
