#include "docker_envs/conda/package_record.hpp"

#include <nlohmann/json.hpp>

namespace de::conda {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Md5Hash> Md5Hash::from_hex(std::string_view hex) {
  if (hex.size() != 32)
    return fail(Code::InvalidArgument, "md5 must be 32 hex digits, got '{}'", hex);
  Bytes bytes{};
  for (std::size_t i = 0; i < 16; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(Code::InvalidArgument, "md5 '{}' is not hex", hex);
    bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return Md5Hash(bytes);
}

std::string Md5Hash::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[2 * i] = kDigits[bytes_[i] >> 4];
    out[2 * i + 1] = kDigits[bytes_[i] & 15];
  }
  return out;
}

std::string_view to_string(NoarchKind kind) {
  switch (kind) {
    case NoarchKind::None:
      return "";
    case NoarchKind::Generic:
      return "generic";
    case NoarchKind::Python:
      return "python";
  }
  return "";
}

Result<NoarchKind> parse_noarch(std::string_view text) {
  if (text.empty()) return NoarchKind::None;
  if (text == "generic") return NoarchKind::Generic;
  if (text == "python") return NoarchKind::Python;
  return fail(Code::InvalidArgument, "unknown noarch kind '{}' (expected generic or python)", text);
}

Result<PackageFormat> package_format_of(std::string_view filename) {
  if (filename.ends_with(".conda")) return PackageFormat::Conda;
  if (filename.ends_with(".tar.bz2")) return PackageFormat::TarBz2;
  return fail(Code::InvalidArgument, "'{}' is not a conda package (expected .conda or .tar.bz2)",
              filename);
}

std::string_view strip_package_extension(std::string_view filename) {
  if (filename.ends_with(".conda")) return filename.substr(0, filename.size() - 6);
  if (filename.ends_with(".tar.bz2")) return filename.substr(0, filename.size() - 8);
  return filename;
}

std::optional<std::int64_t> PackageRecord::timestamp_seconds() const {
  if (!timestamp) return std::nullopt;
  constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31
  return *timestamp > kMaxSeconds ? *timestamp / 1000 : *timestamp;
}

Result<PackageRecord> parse_index_json(std::string_view json, std::string_view what) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(Code::Corruption, "{}: not a JSON object", what);
  PackageRecord r;
  auto str = [&](const char* key, std::string& out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_string()) return fail(Code::Corruption, "{}: '{}' must be a string", what, key);
    out = it->get<std::string>();
    return {};
  };
  auto list = [&](const char* key, std::vector<std::string>& out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return {};
    if (!it->is_array()) return fail(Code::Corruption, "{}: '{}' must be a list", what, key);
    for (const auto& item : *it) {
      if (!item.is_string())
        return fail(Code::Corruption, "{}: '{}' holds a non-string", what, key);
      out.push_back(item.get<std::string>());
    }
    return {};
  };
  DE_TRY(str("name", r.name));
  DE_TRY(str("version", r.version));
  DE_TRY(str("build", r.build));
  DE_TRY(str("subdir", r.subdir));
  DE_TRY(str("fn", r.fn));
  DE_TRY(str("url", r.url));
  DE_TRY(str("channel", r.channel));
  DE_TRY(str("license", r.license));
  DE_TRY(str("python_site_packages_path", r.python_site_packages_path));
  DE_TRY(list("depends", r.depends));
  DE_TRY(list("constrains", r.constrains));
  if (r.name.empty() || r.version.empty())
    return fail(Code::Corruption, "{}: 'name' and 'version' are required", what);
  if (auto it = doc.find("build_number"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return fail(Code::Corruption, "{}: 'build_number' must be an integer", what);
    r.build_number = it->get<std::int64_t>();
  }
  if (auto it = doc.find("track_features"); it != doc.end() && !it->is_null()) {
    if (it->is_string()) {
      r.track_features = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& f : *it)
        if (f.is_string())
          r.track_features += (r.track_features.empty() ? "" : " ") + f.get<std::string>();
    }
  }
  if (auto it = doc.find("noarch"); it != doc.end() && !it->is_null()) {
    if (it->is_boolean()) {
      r.noarch = it->get<bool>() ? NoarchKind::Generic : NoarchKind::None;
    } else if (it->is_string()) {
      r.noarch = DE_TRY_CTX(parse_noarch(it->get<std::string>()), std::string(what));
    } else {
      return fail(Code::Corruption, "{}: 'noarch' must be a string", what);
    }
  }
  if (auto it = doc.find("md5"); it != doc.end() && it->is_string())
    r.md5 = DE_TRY_CTX(Md5Hash::from_hex(it->get<std::string>()), std::string(what));
  if (auto it = doc.find("sha256"); it != doc.end() && it->is_string())
    r.sha256 = DE_TRY_CTX(Digest::from_hex(it->get<std::string>()), std::string(what));
  if (auto it = doc.find("size"); it != doc.end() && it->is_number_unsigned())
    r.size = it->get<std::uint64_t>();
  if (auto it = doc.find("timestamp"); it != doc.end() && it->is_number()) {
    // A double outside the int64 range cannot be converted (undefined behaviour): refused.
    double d = it->is_number_float() ? it->get<double>() : 0;
    if (it->is_number_float() && !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      return fail(Code::Corruption, "{}: 'timestamp' is out of range", what);
    r.timestamp = it->is_number_float() ? static_cast<std::int64_t>(d) : it->get<std::int64_t>();
  }
  return r;
}

}  // namespace de::conda
