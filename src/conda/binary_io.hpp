// Length-prefixed binary encoding for the conda module's private cache files (parsed repodata,
// package plans): native byte order, as the files never leave the machine that wrote them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace de::conda::detail {

class Out {
 public:
  void u8(std::uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void u64(std::uint64_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    s_.append(v);
  }
  void strs(const std::vector<std::string>& v) {
    u32(static_cast<std::uint32_t>(v.size()));
    for (const auto& x : v) str(x);
  }
  void bytes(const std::uint8_t* p, std::size_t n) {
    s_.append(reinterpret_cast<const char*>(p), n);
  }
  std::size_t size() const { return s_.size(); }
  std::string& buffer() { return s_; }

 private:
  std::string s_;
};

// Reads what Out wrote; any overrun sets `bad` and yields zeros/empties.
class In {
 public:
  In(std::string_view s, std::size_t pos = 0) : s_(s), pos_(pos) {}
  bool bad = false;
  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(s_[pos_++]);
  }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::string_view str() {
    std::uint32_t n = u32();
    if (!need(n)) return {};
    auto v = s_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::vector<std::string> strs() {
    std::uint32_t n = u32();
    std::vector<std::string> out;
    if (n > s_.size()) {
      bad = true;
      return out;
    }
    out.reserve(n);
    for (std::uint32_t i = 0; i < n && !bad; ++i) out.emplace_back(str());
    return out;
  }
  const std::uint8_t* bytes(std::size_t n) {
    if (!need(n)) return nullptr;
    auto p = reinterpret_cast<const std::uint8_t*>(s_.data() + pos_);
    pos_ += n;
    return p;
  }
  std::size_t pos() const { return pos_; }

 private:
  template <class T>
  T get() {
    T v{};
    if (!need(sizeof v)) return v;
    std::memcpy(&v, s_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  bool need(std::size_t n) {
    if (bad || s_.size() - pos_ < n) {
      bad = true;
      return false;
    }
    return true;
  }
  std::string_view s_;
  std::size_t pos_;
};

}  // namespace de::conda::detail
