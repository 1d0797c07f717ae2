#include "pypi/record.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace de::pypi::detail {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// One CSV record of `text` starting at `pos` (Python's csv "excel" dialect): fields, and the
// position after the record's line break. Returns false at an unterminated quote.
bool next_csv_record(std::string_view text, std::size_t& pos, std::vector<std::string>& fields) {
  fields.assign(1, std::string());
  bool quoted = false;     // inside a quoted field
  bool at_start = true;    // nothing of the current field read yet
  while (pos < text.size()) {
    char c = text[pos++];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (pos < text.size() && text[pos] == '"') {
        fields.back() += '"';
        ++pos;
      } else {
        quoted = false;
      }
      continue;
    }
    if (c == '"' && at_start) {
      quoted = true;
      at_start = false;
    } else if (c == ',') {
      fields.emplace_back();
      at_start = true;
    } else if (c == '\n') {
      return true;
    } else if (c == '\r') {
      if (pos < text.size() && text[pos] == '\n') ++pos;
      return true;
    } else {
      fields.back() += c;
      at_start = false;
    }
  }
  return !quoted;
}

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::vector<RecordRow>> parse_record(std::string_view text, std::string_view what) {
  std::vector<RecordRow> rows;
  std::vector<std::string> fields;
  std::size_t pos = 0;
  int line = 1;
  while (pos < text.size()) {
    std::size_t start = pos;
    if (!next_csv_record(text, pos, fields))
      return fail(Code::Corruption, "{}:{}: unterminated quote", what, line);
    int row_line = line;
    line += static_cast<int>(std::count(text.begin() + static_cast<std::ptrdiff_t>(start),
                                        text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    if (fields.size() == 1 && fields[0].empty()) continue;  // an empty line
    if (fields.size() > 3)
      return fail(Code::Corruption, "{}:{}: {} fields (expected path,hash,size)", what, row_line,
                  fields.size());
    RecordRow row{.path = fields[0], .line = row_line};
    if (fields.size() > 1) row.hash = fields[1];
    if (fields.size() > 2 && !fields[2].empty()) {
      std::uint64_t size = 0;
      const std::string& f = fields[2];
      auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), size);
      if (ec != std::errc() || end != f.data() + f.size())
        return fail(Code::Corruption, "{}:{}: size '{}' of {} is not a number", what, row_line, f,
                    row.path);
      row.size = size;
    }
    if (row.path.empty()) return fail(Code::Corruption, "{}:{}: a row without a path", what, row_line);
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<Digest> parse_record_hash(std::string_view hash) {
  auto eq = hash.find('=');
  if (eq == std::string_view::npos)
    return fail(Code::Corruption, "hash '{}' is not ALGORITHM=DIGEST", hash);
  std::string_view algorithm = hash.substr(0, eq);
  std::string_view encoded = hash.substr(eq + 1);
  if (algorithm != "sha256")
    return fail(Code::Unsupported, "hash algorithm '{}' is not supported (only sha256)", algorithm);
  // 32 bytes are 43 characters without padding; a padded form is tolerated.
  while (encoded.size() > 43 && encoded.back() == '=') encoded.remove_suffix(1);
  if (encoded.size() != 43)
    return fail(Code::Corruption, "hash '{}' is not a urlsafe base64 sha256 digest", hash);
  Digest::Bytes bytes{};
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : encoded) {
    auto v = kAlphabet.find(c);
    if (v == std::string_view::npos)
      return fail(Code::Corruption, "hash '{}' is not a urlsafe base64 sha256 digest", hash);
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out < bytes.size()) bytes[out++] = static_cast<std::uint8_t>((acc >> bits) & 0xff);
    }
  }
  // 43 characters carry 258 bits: the last 2 must be zero for the text to be canonical.
  if ((acc & ((1u << bits) - 1)) != 0)
    return fail(Code::Corruption, "hash '{}' is not a urlsafe base64 sha256 digest", hash);
  return Digest(bytes);
}

std::string record_hash(const Digest& digest) {
  const auto& b = digest.bytes();
  std::string out = "sha256=";
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t byte : b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::string format_record(std::vector<RecordRow> rows) {
  std::ranges::sort(rows, [](const RecordRow& a, const RecordRow& b) { return a.path < b.path; });
  std::string out;
  for (const auto& r : rows) {
    out += csv_field(r.path);
    out += ',';
    out += csv_field(r.hash);
    out += ',';
    if (r.size) out += std::to_string(*r.size);
    out += '\n';
  }
  return out;
}

}  // namespace de::pypi::detail
