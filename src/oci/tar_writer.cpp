// Deterministic ustar writer with pax headers only where ustar falls short.
//
// A pax header is added when a value does not fit its ustar field: a path that cannot be split
// into prefix (155) + name (100) at a '/', a link target over 100 bytes, a size of 8 GiB or more,
// uid/gid/mtime outside the octal range, uname/gname over 32 bytes, xattrs, or a non-ASCII
// string (pax values are UTF-8 by definition, which is what Go's archive/tar — and so Docker —
// does too). The pax header itself has a fixed name and zero mtime/owner, and its records are
// sorted by key, so the bytes depend only on the entry.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "docker_envs/oci/tar.hpp"

namespace de::oci {
namespace {

constexpr size_t kBlock = 512;
constexpr std::string_view kPaxHeaderName = "././@PaxHeader";
constexpr std::uint64_t kMaxOctal11 = 077777777777ULL;  // 12-byte fields: 11 digits + NUL
constexpr std::int64_t kMaxOctal7 = 07777777;           // 8-byte fields: 7 digits + NUL

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The name written for an entry: directories end with '/', and the root is "./".
std::string tar_name(const TarEntry& entry) {
  std::string name = entry.path;
  if (entry.type == EntryType::Directory) {
    if (name.empty()) return "./";
    if (name.back() != '/') name += '/';
  }
  return name;
}

// Splits `name` into ustar prefix and name fields; nullopt when impossible.
std::optional<std::pair<std::string_view, std::string_view>> split_name(std::string_view name) {
  if (name.size() <= 100) return std::pair{std::string_view(), name};
  if (name.size() > 256) return std::nullopt;
  // The prefix takes everything before a '/', the name the rest; the rightmost usable slash
  // keeps the name part short. Ignore a trailing '/' (directories) as a split point.
  size_t limit = std::min<size_t>(155, name.size() - 2);
  for (size_t i = limit + 1; i-- > 0;) {
    if (name[i] != '/') continue;
    if (i == 0) break;
    std::string_view prefix = name.substr(0, i), rest = name.substr(i + 1);
    if (rest.size() > 100) break;  // moving left only makes the name longer
    if (rest.empty()) continue;
    return std::pair{prefix, rest};
  }
  return std::nullopt;
}

char* at(std::array<char, kBlock>& h, size_t off) { return h.data() + off; }

void put_string(std::array<char, kBlock>& h, size_t off, size_t len, std::string_view s) {
  if (s.empty()) return;  // an empty view may have a null data(), which memcpy must not get
  std::memcpy(at(h, off), s.data(), std::min(len, s.size()));
}

// Octal, zero-padded to len-1 digits and NUL-terminated; the caller checked that it fits.
void put_octal(std::array<char, kBlock>& h, size_t off, size_t len, std::uint64_t value) {
  std::string digits = fmt::format("{:0{}o}", value, len - 1);
  std::memcpy(at(h, off), digits.data(), len - 1);
  h[off + len - 1] = '\0';
}

// GNU base-256 for values octal cannot hold: device numbers (which pax lacks), and sizes in
// headers that cannot be preceded by a pax header (encode_single_header).
void put_base256(std::array<char, kBlock>& h, size_t off, size_t len, std::uint64_t value) {
  for (size_t i = len; i-- > 1;) {
    h[off + i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  h[off] = static_cast<char>(0x80);
}

void put_number(std::array<char, kBlock>& h, size_t off, size_t len, std::uint64_t value) {
  std::uint64_t max = (std::uint64_t{1} << (3 * (len - 1))) - 1;
  if (value <= max)
    put_octal(h, off, len, value);
  else
    put_base256(h, off, len, value);
}

void finish_checksum(std::array<char, kBlock>& h) {
  std::memset(at(h, 148), ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::string digits = fmt::format("{:06o}", sum);
  std::memcpy(at(h, 148), digits.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
}

std::array<char, kBlock> ustar_header(std::string_view name, std::string_view prefix, char type) {
  std::array<char, kBlock> h{};
  put_string(h, 0, 100, name);
  put_string(h, 345, 155, prefix);
  h[156] = type;
  std::memcpy(at(h, 257),
              "ustar\0"
              "00",
              8);
  return h;
}

// "<len> key=value\n" where len counts the whole record including its own digits.
void append_pax_record(std::string& out, std::string_view key, std::string_view value) {
  size_t body = 1 + key.size() + 1 + value.size() + 1;  // ' ' key '=' value '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  out += fmt::format("{} {}={}\n", len, key, value);
}

struct Encoded {
  std::map<std::string, std::string> pax;
  std::string name, prefix, link;
  bool big_size = false, big_uid = false, big_gid = false, bad_mtime = false;
};

Encoded plan(const TarEntry& entry) {
  Encoded e;
  std::string name = tar_name(entry);
  auto split = is_ascii(name) ? split_name(name) : std::nullopt;
  if (split) {
    e.prefix = std::string(split->first);
    e.name = std::string(split->second);
  } else {
    e.pax["path"] = name;
    e.name = name.substr(0, 100);  // readers without pax see a truncated name
  }
  bool has_link = entry.type == EntryType::Symlink || entry.type == EntryType::Hardlink;
  if (has_link) {
    if (entry.link_target.size() > 100 || !is_ascii(entry.link_target))
      e.pax["linkpath"] = entry.link_target;
    e.link = entry.link_target.substr(0, 100);
  }
  std::uint64_t size = entry.type == EntryType::File ? entry.size : 0;
  if (size > kMaxOctal11) {
    e.pax["size"] = std::to_string(size);
    e.big_size = true;
  }
  if (entry.uid < 0 || entry.uid > kMaxOctal7) {
    e.pax["uid"] = std::to_string(entry.uid);
    e.big_uid = true;
  }
  if (entry.gid < 0 || entry.gid > kMaxOctal7) {
    e.pax["gid"] = std::to_string(entry.gid);
    e.big_gid = true;
  }
  if (entry.mtime < 0 || static_cast<std::uint64_t>(entry.mtime) > kMaxOctal11) {
    e.pax["mtime"] = std::to_string(entry.mtime);
    e.bad_mtime = true;
  }
  if (entry.uname.size() > 32 || !is_ascii(entry.uname)) e.pax["uname"] = entry.uname;
  if (entry.gname.size() > 32 || !is_ascii(entry.gname)) e.pax["gname"] = entry.gname;
  for (auto& [k, v] : entry.xattrs) e.pax["SCHILY.xattr." + k] = v;
  return e;
}

std::string pax_records(const std::map<std::string, std::string>& pax) {
  std::string records;
  for (auto& [k, v] : pax) append_pax_record(records, k, v);
  return records;
}

char type_flag(EntryType type) {
  switch (type) {
    case EntryType::File:
      return '0';
    case EntryType::Hardlink:
      return '1';
    case EntryType::Symlink:
      return '2';
    case EntryType::CharDevice:
      return '3';
    case EntryType::BlockDevice:
      return '4';
    case EntryType::Directory:
      return '5';
    case EntryType::Fifo:
      return '6';
  }
  return '0';
}

}  // namespace

Result<std::string> TarWriter::encode_header(const TarEntry& entry) {
  auto has_nul = [](std::string_view s) { return s.find('\0') != std::string_view::npos; };
  if (has_nul(entry.path) || has_nul(entry.link_target) || has_nul(entry.uname) ||
      has_nul(entry.gname))
    return fail(Code::InvalidArgument, "tar entry '{}' has a NUL byte in a name", entry.path);
  if (entry.path.empty() && entry.type != EntryType::Directory)
    return fail(Code::InvalidArgument, "tar entry of type {} has an empty path",
                to_string(entry.type));
  for (auto& [k, v] : entry.xattrs)
    if (k.empty() || has_nul(k) || k.find('=') != std::string::npos)
      return fail(Code::InvalidArgument, "tar entry '{}' has an invalid xattr name '{}'",
                  entry.path, k);

  Encoded e = plan(entry);
  std::string out;
  if (!e.pax.empty()) {
    std::string records = pax_records(e.pax);
    auto h = ustar_header(kPaxHeaderName, {}, 'x');
    put_octal(h, 100, 8, 0644);
    put_octal(h, 108, 8, 0);
    put_octal(h, 116, 8, 0);
    put_octal(h, 124, 12, records.size());
    put_octal(h, 136, 12, 0);
    put_octal(h, 329, 8, 0);
    put_octal(h, 337, 8, 0);
    finish_checksum(h);
    out.append(h.data(), h.size());
    out += records;
    out.append(padding(records.size()), '\0');
  }
  auto h = ustar_header(e.name, e.prefix, type_flag(entry.type));
  put_octal(h, 100, 8, entry.mode & 07777);
  put_octal(h, 108, 8, e.big_uid ? 0 : static_cast<std::uint64_t>(entry.uid));
  put_octal(h, 116, 8, e.big_gid ? 0 : static_cast<std::uint64_t>(entry.gid));
  std::uint64_t size = entry.type == EntryType::File ? entry.size : 0;
  put_octal(h, 124, 12, e.big_size ? 0 : size);
  put_octal(h, 136, 12, e.bad_mtime ? 0 : static_cast<std::uint64_t>(entry.mtime));
  put_string(h, 157, 100, e.link);
  put_string(h, 265, 32, entry.uname.size() <= 32 && is_ascii(entry.uname) ? entry.uname : "");
  put_string(h, 297, 32, entry.gname.size() <= 32 && is_ascii(entry.gname) ? entry.gname : "");
  put_number(h, 329, 8, entry.dev_major);
  put_number(h, 337, 8, entry.dev_minor);
  finish_checksum(h);
  out.append(h.data(), h.size());
  return out;
}

Result<std::string> TarWriter::encode_single_header(const TarEntry& entry) {
  TarEntry sizeless = entry;
  sizeless.size = 0;
  std::string out = DE_TRY(encode_header(sizeless));
  if (out.size() != kBlockSize)
    return fail(Code::Unsupported, "tar member '{}' needs an extended (pax) header", entry.path);
  std::array<char, kBlock> h;
  std::memcpy(h.data(), out.data(), kBlock);
  put_number(h, 124, 12, entry.type == EntryType::File ? entry.size : 0);
  finish_checksum(h);
  return std::string(h.data(), h.size());
}

std::uint64_t TarWriter::encoded_size(const TarEntry& entry) {
  Encoded e = plan(entry);
  std::uint64_t total = kBlockSize;
  if (!e.pax.empty()) {
    std::uint64_t records = pax_records(e.pax).size();
    total += kBlockSize + records + padding(records);
  }
  if (entry.type == EntryType::File) total += entry.size + padding(entry.size);
  return total;
}

Status TarWriter::add(const TarEntry& entry, Reader* data) {
  std::string header = DE_TRY(encode_header(entry));
  if (entry.type == EntryType::File && entry.size > 0 && data == nullptr)
    return fail(Code::InvalidArgument, "tar entry '{}' has {} bytes but no data", entry.path,
                entry.size);
  DE_TRY(out_.write(header));
  if (entry.type != EntryType::File) return {};

  std::vector<std::byte> buf(std::min<std::uint64_t>(entry.size, 256 << 10) + 1);
  std::uint64_t left = entry.size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<std::uint64_t>(left, buf.size()));
    size_t n = DE_TRY_CTX(data->read(std::span(buf.data(), want)), "reading data of " + entry.path);
    if (n == 0)
      return fail(Code::InvalidArgument, "data of tar entry '{}' ended after {} of {} bytes",
                  entry.path, entry.size - left, entry.size);
    DE_TRY(out_.write(std::span<const std::byte>(buf.data(), n)));
    left -= n;
  }
  if (data) {
    size_t extra =
        DE_TRY_CTX(data->read(std::span(buf.data(), 1)), "reading data of " + entry.path);
    if (extra != 0)
      return fail(Code::InvalidArgument, "data of tar entry '{}' is longer than its size {}",
                  entry.path, entry.size);
  }
  static constexpr std::array<std::byte, kBlock> kZeros{};
  DE_TRY(out_.write(std::span<const std::byte>(kZeros.data(), padding(entry.size))));
  return {};
}

Status TarWriter::finish() {
  static constexpr std::array<std::byte, kTrailerSize> kZeros{};
  return out_.write(std::span<const std::byte>(kZeros));
}

}  // namespace de::oci
