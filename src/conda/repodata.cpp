#include "docker_envs/conda/repodata.hpp"

#include <array>
#include <cstdint>

#include "conda/repodata_record.hpp"

namespace de::conda {

namespace od = simdjson::ondemand;

namespace {

using detail::Problem;

// Hex digits -> bytes through a table (hashes are a large share of repodata's bytes). Digest's
// hex is lowercase only; md5 accepts either case (Md5Hash::from_hex's rules).
template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out, bool upper_ok) {
  static constexpr auto kTable = [] {
    std::array<std::array<std::uint8_t, 256>, 2> t{};
    for (auto& row : t) row.fill(0xff);
    for (int c = 0; c < 10; ++c) t[0]['0' + c] = t[1]['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) {
      t[0]['a' + c] = t[1]['a' + c] = static_cast<std::uint8_t>(10 + c);
      t[1]['A' + c] = static_cast<std::uint8_t>(10 + c);
    }
    return t;
  }();
  if (hex.size() != 2 * N) return false;
  const auto& table = kTable[upper_ok ? 1 : 0];
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    std::uint8_t hi = table[static_cast<unsigned char>(hex[2 * i])];
    std::uint8_t lo = table[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0xf));
  }
  return (bad & 0xf0) == 0;
}

Problem read_string(od::value value, std::string& out, std::string_view key) {
  std::string_view s;
  if (value.get_string().get(s)) return fmt::format("'{}' must be a string", key);
  out.assign(s);
  return {};
}

Problem read_string_list(od::value value, std::vector<std::string>& out, std::string_view key) {
  od::array array;
  if (value.get_array().get(array)) return fmt::format("'{}' must be a list of strings", key);
  for (auto item : array) {
    std::string_view s;
    if (item.get_string().get(s)) return fmt::format("'{}' must be a list of strings", key);
    out.emplace_back(s);
  }
  return {};
}

Problem read_int(od::value value, std::int64_t& out, std::string_view key) {
  od::number_type type;
  if (value.get_number_type().get(type)) return fmt::format("'{}' must be a number", key);
  if (type == od::number_type::floating_point_number) {
    double d;
    if (value.get_double().get(d)) return fmt::format("'{}' must be a number", key);
    // Converting a double outside the int64 range (or NaN) is undefined behaviour: refuse it.
    // -2^63 is exact in a double; 2^63 is the first value that does not fit.
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      return fmt::format("'{}' is out of range", key);
    out = static_cast<std::int64_t>(d);
    return {};
  }
  if (value.get_int64().get(out)) return fmt::format("'{}' must be an integer", key);
  return {};
}

}  // namespace

namespace detail {

// Parses one record object into `r`. Returns the first problem found (the rest of the object is
// skipped by the iterator), or "" on success.
Problem parse_record(od::object object, PackageRecord& r) {
  Problem problem;
  for (auto field : object) {
    od::raw_json_string key;
    if (field.key().get(key)) return "unreadable key";
    od::value value;
    if (field.value().get(value)) return "unreadable value";
    bool is_null = false;
    if (value.is_null().get(is_null)) return "unreadable value";
    if (is_null) continue;
    const char* raw = key.raw();
    Problem p;
    switch (raw[0]) {
      case 'n':
        if (key.unsafe_is_equal("name")) {
          p = read_string(value, r.name, "name");
        } else if (key.unsafe_is_equal("noarch")) {
          od::json_type type;
          if (value.type().get(type)) return "unreadable noarch";
          if (type == od::json_type::boolean) {
            bool b = false;
            if (value.get_bool().get(b)) return "'noarch' must be a string";
            r.noarch = b ? NoarchKind::Generic : NoarchKind::None;
          } else {
            std::string_view s;
            if (value.get_string().get(s)) return "'noarch' must be a string";
            auto kind = parse_noarch(s);
            if (!kind) return kind.error().message();
            r.noarch = *kind;
          }
        }
        break;
      case 'v':
        if (key.unsafe_is_equal("version")) p = read_string(value, r.version, "version");
        break;
      case 'b':
        if (key.unsafe_is_equal("build")) {
          p = read_string(value, r.build, "build");
        } else if (key.unsafe_is_equal("build_number")) {
          p = read_int(value, r.build_number, "build_number");
        }
        break;
      case 'd':
        if (key.unsafe_is_equal("depends")) p = read_string_list(value, r.depends, "depends");
        break;
      case 'c':
        if (key.unsafe_is_equal("constrains")) {
          p = read_string_list(value, r.constrains, "constrains");
        } else if (key.unsafe_is_equal("channel")) {
          p = read_string(value, r.channel, "channel");
        }
        break;
      case 's':
        if (key.unsafe_is_equal("subdir")) {
          p = read_string(value, r.subdir, "subdir");
        } else if (key.unsafe_is_equal("sha256")) {
          std::string_view s;
          if (value.get_string().get(s)) return "'sha256' must be a string";
          Digest::Bytes bytes;
          if (!decode_hex(s, bytes, false)) return fmt::format("bad sha256 '{}'", s);
          r.sha256 = Digest(bytes);
        } else if (key.unsafe_is_equal("size")) {
          std::uint64_t size = 0;
          if (value.get_uint64().get(size)) return "'size' must be a non-negative integer";
          r.size = size;
        }
        break;
      case 'm':
        if (key.unsafe_is_equal("md5")) {
          std::string_view s;
          if (value.get_string().get(s)) return "'md5' must be a string";
          Md5Hash::Bytes bytes;
          if (!decode_hex(s, bytes, true)) return fmt::format("bad md5 '{}'", s);
          r.md5 = Md5Hash(bytes);
        }
        break;
      case 'u':
        if (key.unsafe_is_equal("url")) p = read_string(value, r.url, "url");
        break;
      case 't':
        if (key.unsafe_is_equal("timestamp")) {
          std::int64_t ts = 0;
          p = read_int(value, ts, "timestamp");
          r.timestamp = ts;
        } else if (key.unsafe_is_equal("track_features")) {
          od::json_type type;
          if (value.type().get(type)) return "unreadable track_features";
          if (type == od::json_type::array) {
            std::vector<std::string> features;
            p = read_string_list(value, features, "track_features");
            for (auto& f : features) r.track_features += (r.track_features.empty() ? "" : " ") + f;
          } else {
            p = read_string(value, r.track_features, "track_features");
          }
        }
        break;
      case 'l':
        if (key.unsafe_is_equal("license")) p = read_string(value, r.license, "license");
        break;
      case 'p':
        if (key.unsafe_is_equal("python_site_packages_path"))
          p = read_string(value, r.python_site_packages_path, "python_site_packages_path");
        break;
      default:
        break;
    }
    if (!p.empty()) return p;
  }
  if (r.name.empty()) return "no name";
  if (r.version.empty()) return "no version";
  if (r.build.empty()) return "no build string";
  return {};
}

}  // namespace detail

std::string Repodata::url_for(const PackageRecord& record) const {
  if (!record.url.empty()) return record.url;
  if (base_url.empty()) return record.fn;
  return base_url + "/" + record.fn;
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  auto strip = [](std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  if (reference.find("://") != std::string_view::npos) return strip(std::string(reference));
  std::string b(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  if (reference.starts_with("/")) {
    // Absolute path: keep scheme://host of the base.
    auto scheme = b.find("://");
    auto host_end = scheme == std::string::npos ? 0 : b.find('/', scheme + 3);
    std::string origin = host_end == std::string::npos ? b : b.substr(0, host_end);
    return strip(origin + std::string(reference));
  }
  auto scheme = b.find("://");
  std::size_t floor = scheme == std::string::npos ? 0 : b.find('/', scheme + 3);
  if (floor == std::string::npos) floor = b.size();
  std::string_view rest = reference;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      auto cut = b.rfind('/');
      if (cut != std::string::npos && cut >= floor) b.resize(cut);
      continue;
    }
    b += "/";
    b += part;
  }
  return strip(b);
}

}  // namespace de::conda
