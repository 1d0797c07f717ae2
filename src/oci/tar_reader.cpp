// Streaming tar reader: ustar, pax (local and global), GNU long names, base-256 numbers, v7.
//
// Header layout (POSIX ustar; GNU and v7 share the first 257 bytes):
//   name 0..100, mode 100..108, uid 108..116, gid 116..124, size 124..136, mtime 136..148,
//   chksum 148..156, typeflag 156, linkname 157..257, magic 257..263, version 263..265,
//   uname 265..297, gname 297..329, devmajor 329..337, devminor 337..345, prefix 345..500.
// GNU headers ("ustar  \0" magic) keep atime/ctime where ustar has the prefix, so the prefix is
// used only with the POSIX "ustar\0" magic.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "docker_envs/oci/tar.hpp"

namespace de::oci {
namespace {

constexpr size_t kBlock = 512;
// Upper bound for the pax records before one entry (all its 'x' headers together), for all
// global records together, and for a GNU long name: real ones are a few KiB; this stops a corrupt
// or hostile size field from making us allocate gigabytes.
constexpr std::uint64_t kMaxMetaSize = 1 << 20;

// The keys a global pax header may set for the entries after it. Docker and containerd ignore
// global headers altogether; owner and time defaults are what real writers put there. A global
// path, linkpath, size or xattr would apply to every entry (renaming them all to one name, ...),
// so those are ignored, which also keeps an entry from carrying a copy of a large global map.
constexpr std::array<std::string_view, 5> kGlobalKeys = {"uid", "gid", "uname", "gname", "mtime"};

std::string_view field(const std::byte* block, size_t offset, size_t length) {
  const char* p = reinterpret_cast<const char*>(block) + offset;
  size_t n = 0;
  while (n < length && p[n] != '\0') ++n;
  return {p, n};
}

// Parses a numeric field: octal (optionally space/NUL padded) or GNU base-256 (high bit set).
std::optional<std::int64_t> parse_number(const std::byte* block, size_t offset, size_t length) {
  auto* p = reinterpret_cast<const unsigned char*>(block) + offset;
  if (p[0] & 0x80) {
    // Base-256, two's complement big-endian; the first byte's top bit is only the marker
    // (0x80 positive, 0xff negative).
    bool negative = (p[0] & 0x40) != 0;
    std::uint64_t value = 0;
    for (size_t i = 0; i < length; ++i) {
      unsigned char byte = p[i];
      if (i == 0 && !negative) byte &= 0x7f;
      if (i + 8 < length) {
        // Bytes beyond 64 bits must be pure sign extension.
        if (byte != (negative ? 0xff : 0x00)) return std::nullopt;
        continue;
      }
      value = (value << 8) | byte;
    }
    if (((value >> 63) != 0) != negative) return std::nullopt;
    return static_cast<std::int64_t>(value);
  }
  size_t i = 0;
  while (i < length && (p[i] == ' ' || p[i] == '\0')) ++i;
  // An all-blank field reads as 0, as GNU tar does.
  std::int64_t value = 0;
  for (; i < length && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (value > (INT64_MAX >> 3)) return std::nullopt;
    value = value * 8 + (p[i] - '0');
  }
  for (; i < length; ++i)
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  return value;
}

bool is_zero_block(std::span<const std::byte> block) {
  return std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; });
}

// Sum of the header bytes with the checksum field taken as spaces. Historic writers summed
// signed chars, so both sums are accepted.
bool checksum_ok(const std::byte* block, std::int64_t stored) {
  std::int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    unsigned char c = (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
    unsigned_sum += c;
    signed_sum += static_cast<signed char>(c);
  }
  return stored == unsigned_sum || stored == signed_sum;
}

std::optional<std::int64_t> parse_decimal(std::string_view s, bool allow_fraction) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  size_t i = 0;
  if (s[0] == '-') {
    negative = true;
    i = 1;
  }
  std::int64_t value = 0;
  size_t digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
    if (value > (INT64_MAX - 9) / 10) return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size()) {
    // pax times may carry a fraction ("1700000000.123456789"); we keep whole seconds, rounding
    // towards minus infinity like GNU tar.
    if (!allow_fraction || s[i] != '.') return std::nullopt;
    bool nonzero_fraction = false;
    for (++i; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      if (s[i] != '0') nonzero_fraction = true;
    }
    if (negative && nonzero_fraction) value += 1;
  }
  return negative ? -value : value;
}

// Parses pax records ("<len> <key>=<value>\n") into `out`; an empty value records the key with
// an empty string, which callers read as "unset".
Status parse_pax(std::string_view data, std::map<std::string, std::string>& out) {
  while (!data.empty()) {
    // Some writers pad the record area with NULs.
    if (data[0] == '\0') break;
    size_t space = data.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 20)
      return fail(Code::Corruption, "malformed pax record length");
    std::uint64_t len = 0;
    for (size_t i = 0; i < space; ++i) {
      if (data[i] < '0' || data[i] > '9')
        return fail(Code::Corruption, "malformed pax record length");
      len = len * 10 + static_cast<std::uint64_t>(data[i] - '0');
    }
    if (len <= space + 1 || len > data.size() || data[len - 1] != '\n')
      return fail(Code::Corruption, "pax record length {} does not fit the header data", len);
    std::string_view record = data.substr(space + 1, len - space - 2);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return fail(Code::Corruption, "pax record without key=value");
    out[std::string(record.substr(0, eq))] = std::string(record.substr(eq + 1));
    data.remove_prefix(len);
  }
  return {};
}

// Reads and discards the rest of `in`.
Status read_to_end(Reader& in) {
  std::array<std::byte, 64 << 10> buf;
  while (DE_TRY(in.read(buf)) > 0) {
  }
  return {};
}

}  // namespace

std::string_view to_string(EntryType type) {
  switch (type) {
    case EntryType::File:
      return "file";
    case EntryType::Directory:
      return "directory";
    case EntryType::Symlink:
      return "symlink";
    case EntryType::Hardlink:
      return "hardlink";
    case EntryType::CharDevice:
      return "character device";
    case EntryType::BlockDevice:
      return "block device";
    case EntryType::Fifo:
      return "fifo";
  }
  return "unknown";
}

Result<std::string> normalize_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(i, slash - i);
    i = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty())
        return fail(Code::Corruption, "unsafe path '{}': '..' climbs above the root", path);
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

Status TarReader::read_block(std::span<std::byte> block, bool* eof) {
  size_t got = 0;
  while (got < block.size()) {
    size_t n = DE_TRY(in_.read(block.subspan(got)));
    if (n == 0) break;
    got += n;
  }
  pos_ += got;
  if (got == 0 && eof) {
    *eof = true;
    return {};
  }
  if (got < block.size())
    return fail(Code::Corruption, "tar stream truncated at offset {}: header block incomplete",
                pos_);
  return {};
}

Status TarReader::skip(std::uint64_t n) {
  std::array<std::byte, 64 << 10> buf;
  while (n > 0) {
    size_t want = static_cast<size_t>(std::min<std::uint64_t>(n, buf.size()));
    size_t got = DE_TRY(in_.read(std::span(buf.data(), want)));
    if (got == 0)
      return fail(Code::Corruption, "tar stream truncated at offset {}: {} more bytes expected",
                  pos_, n);
    pos_ += got;
    n -= got;
  }
  return {};
}

Result<std::string> TarReader::read_meta_data(std::uint64_t size, std::string_view what) {
  if (size > kMaxMetaSize)
    return fail(Code::Corruption, "{} at offset {} claims {} bytes", what, pos_, size);
  std::string data(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    size_t n = DE_TRY(in_.read(as_writable_bytes(std::span(data.data() + got, data.size() - got))));
    if (n == 0)
      return fail(Code::Corruption, "tar stream truncated at offset {} inside {}", pos_ + got,
                  what);
    got += n;
  }
  pos_ += size;
  DE_TRY(skip(TarWriter::padding(size)));
  return data;
}

Result<size_t> TarReader::read_data(std::span<std::byte> buf) {
  if (remaining_ == 0 || buf.empty()) return 0;
  size_t want = static_cast<size_t>(std::min<std::uint64_t>(buf.size(), remaining_));
  size_t n = DE_TRY(in_.read(buf.first(want)));
  if (n == 0)
    return fail(Code::Corruption, "tar stream truncated at offset {}: entry data has {} more bytes",
                pos_, remaining_);
  pos_ += n;
  remaining_ -= n;
  return n;
}

Result<std::optional<TarEntry>> TarReader::next() {
  if (done_) return std::optional<TarEntry>();
  DE_TRY(skip(remaining_ + padding_));
  remaining_ = padding_ = 0;

  std::map<std::string, std::string> pax;
  std::uint64_t pax_bytes = 0;  // of the local pax headers read for this entry
  std::optional<std::string> gnu_name, gnu_link;
  std::array<std::byte, kBlock> block;
  while (true) {
    std::uint64_t header_offset = pos_;
    bool eof = false;
    DE_TRY(read_block(block, &eof));
    if (eof) {
      done_ = true;
      if (!pax.empty() || gnu_name || gnu_link)
        return fail(Code::Corruption, "tar stream ends after a metadata header at offset {}",
                    header_offset);
      return std::optional<TarEntry>();
    }
    if (is_zero_block(block)) {
      // End of archive: a second zero block, or end of stream. (A lone zero block followed by
      // more data is also taken as the end, as GNU tar does without --ignore-zeros.)
      std::array<std::byte, kBlock> second;
      bool eof2 = false;
      DE_TRY(read_block(second, &eof2));
      done_ = true;
      // The stream is read to its end (record padding, anything after the marker): a verifying
      // reader underneath (every Layer::open_tar) checks its digest only there.
      if (!eof2) DE_TRY(read_to_end(in_));
      return std::optional<TarEntry>();
    }
    const std::byte* h = block.data();
    auto stored_sum = parse_number(h, 148, 8);
    if (!stored_sum || !checksum_ok(h, *stored_sum))
      return fail(Code::Corruption,
                  "bad tar header checksum at offset {} (not a tar stream, or corrupt)",
                  header_offset);

    std::string_view magic = field(h, 257, 6);
    bool posix = magic == "ustar" && reinterpret_cast<const char*>(h)[262] == '\0';
    bool gnu = std::memcmp(reinterpret_cast<const char*>(h) + 257, "ustar  ", 8) == 0;
    bool has_owner_names = posix || gnu || magic == "ustar";
    char typeflag = static_cast<char>(h[156]);

    auto number = [&](size_t off, size_t len, const char* name) -> Result<std::int64_t> {
      auto v = parse_number(h, off, len);
      if (!v)
        return fail(Code::Corruption, "invalid {} field in tar header at offset {}", name,
                    header_offset);
      return *v;
    };
    std::int64_t raw_size = DE_TRY(number(124, 12, "size"));
    if (raw_size < 0)
      return fail(Code::Corruption, "negative size in tar header at offset {}", header_offset);
    std::uint64_t size = static_cast<std::uint64_t>(raw_size);

    // Metadata headers describing the next entry.
    if (typeflag == 'x' || typeflag == 'g' || typeflag == 'X') {
      bool global = typeflag == 'g';
      std::uint64_t& total = global ? global_pax_bytes_ : pax_bytes;
      if (size > kMaxMetaSize - total)
        return fail(Code::Corruption,
                    "{}pax header at offset {} holds {} bytes: more than the {} bytes accepted "
                    "{}",
                    global ? "global " : "", header_offset, size, kMaxMetaSize,
                    global ? "for all global headers" : "before one entry");
      total += size;
      std::string data = DE_TRY(read_meta_data(size, "pax header"));
      std::map<std::string, std::string> records;
      DE_TRY_CTX(parse_pax(data, global ? records : pax),
                 fmt::format("pax header at offset {}", header_offset));
      for (auto& [k, v] : records)
        if (std::find(kGlobalKeys.begin(), kGlobalKeys.end(), k) != kGlobalKeys.end())
          global_pax_[k] = std::move(v);
      continue;
    }
    if (typeflag == 'L' || typeflag == 'K') {
      std::string data = DE_TRY(read_meta_data(size, "GNU long name"));
      if (auto nul = data.find('\0'); nul != std::string::npos) data.resize(nul);
      (typeflag == 'L' ? gnu_name : gnu_link) = std::move(data);
      continue;
    }

    TarEntry entry;
    // Local pax values win over global ones (looked up, never copied per entry); an empty value
    // means "use the header field".
    auto pax_value = [&](const char* key) -> const std::string* {
      auto it = pax.find(key);
      if (it == pax.end()) {
        it = global_pax_.find(key);
        if (it == global_pax_.end()) return nullptr;
      }
      return it->second.empty() ? nullptr : &it->second;
    };

    std::string name;
    if (const std::string* p = pax_value("path")) {
      name = *p;
    } else if (gnu_name) {
      name = *gnu_name;
    } else {
      name = std::string(field(h, 0, 100));
      std::string_view prefix = posix ? field(h, 345, 155) : std::string_view();
      if (!prefix.empty()) name = std::string(prefix) + "/" + name;
    }
    std::string link;
    if (const std::string* p = pax_value("linkpath"))
      link = *p;
    else if (gnu_link)
      link = *gnu_link;
    else
      link = std::string(field(h, 157, 100));

    bool data_follows = true;
    switch (typeflag) {
      case '0':
      case '\0':
      case '7':  // contiguous file: an ordinary file for us
        // v7 archives mark directories only by the trailing slash.
        entry.type = (!name.empty() && name.back() == '/') ? EntryType::Directory : EntryType::File;
        break;
      case '1':
        entry.type = EntryType::Hardlink;
        data_follows = false;
        break;
      case '2':
        entry.type = EntryType::Symlink;
        data_follows = false;
        break;
      case '3':
        entry.type = EntryType::CharDevice;
        data_follows = false;
        break;
      case '4':
        entry.type = EntryType::BlockDevice;
        data_follows = false;
        break;
      case '5':
        entry.type = EntryType::Directory;
        data_follows = false;
        break;
      case '6':
        entry.type = EntryType::Fifo;
        data_follows = false;
        break;
      case 'D':  // GNU dumpdir: a directory whose data lists its contents; skipped
        entry.type = EntryType::Directory;
        break;
      case 'V':  // GNU volume label: not a file
        DE_TRY(skip(size + TarWriter::padding(size)));
        pax.clear();
        pax_bytes = 0;
        gnu_name.reset();
        gnu_link.reset();
        continue;
      default:
        if (typeflag >= 'A' && typeflag <= 'Z')
          return fail(Code::Unsupported,
                      "tar entry '{}' at offset {} has unsupported type '{}' (e.g. GNU sparse or "
                      "multi-volume)",
                      name, header_offset, typeflag);
        // POSIX: unknown types are read as regular files.
        entry.type = EntryType::File;
    }

    if (const std::string* p = pax_value("size")) {
      auto v = parse_decimal(*p, false);
      if (!v || *v < 0) return fail(Code::Corruption, "invalid pax size '{}' for '{}'", *p, name);
      size = static_cast<std::uint64_t>(*v);
    }
    // Engines join absolute names onto the root, but no tool that makes layers writes them: an
    // absolute name is a crafted or broken archive, refused like a '..' escape.
    // (A name of only slashes is the root itself, as kaniko writes it, and harmless.)
    entry.path = DE_TRY(normalize_path(name));
    if (name.starts_with('/') && !entry.path.empty())
      return fail(Code::Corruption, "unsafe path '{}': absolute paths are not allowed in a tar",
                  name);
    if (entry.type == EntryType::Hardlink) {
      entry.link_target = DE_TRY_CTX(normalize_path(link), "hardlink " + entry.path);
    } else if (entry.type == EntryType::Symlink) {
      entry.link_target = std::move(link);
    }
    entry.mode = static_cast<std::uint32_t>(DE_TRY(number(100, 8, "mode")) & 07777);
    entry.uid = DE_TRY(number(108, 8, "uid"));
    entry.gid = DE_TRY(number(116, 8, "gid"));
    entry.mtime = DE_TRY(number(136, 12, "mtime"));
    if (has_owner_names) {
      entry.uname = std::string(field(h, 265, 32));
      entry.gname = std::string(field(h, 297, 32));
      if (entry.type == EntryType::CharDevice || entry.type == EntryType::BlockDevice) {
        entry.dev_major = static_cast<std::uint32_t>(DE_TRY(number(329, 8, "devmajor")));
        entry.dev_minor = static_cast<std::uint32_t>(DE_TRY(number(337, 8, "devminor")));
      }
    }
    auto pax_int = [&](const char* key, std::int64_t& into, bool fraction) -> Status {
      if (const std::string* p = pax_value(key)) {
        auto v = parse_decimal(*p, fraction);
        if (!v) return fail(Code::Corruption, "invalid pax {} '{}' for '{}'", key, *p, name);
        into = *v;
      }
      return {};
    };
    DE_TRY(pax_int("uid", entry.uid, false));
    DE_TRY(pax_int("gid", entry.gid, false));
    DE_TRY(pax_int("mtime", entry.mtime, true));
    if (const std::string* p = pax_value("uname")) entry.uname = *p;
    if (const std::string* p = pax_value("gname")) entry.gname = *p;
    constexpr std::string_view kXattr = "SCHILY.xattr.";
    for (auto& [k, v] : pax)
      if (k.starts_with(kXattr) && k.size() > kXattr.size())
        entry.xattrs[k.substr(kXattr.size())] = v;

    if (entry.type == EntryType::Directory && data_follows) {
      // A directory has no file data: a GNU dumpdir listing, or the blocks a v7 directory (a
      // regular-file type with a trailing slash) claims, are skipped so that read_data() yields
      // nothing and the entry's size (0) bounds what is read.
      DE_TRY(skip(size + TarWriter::padding(size)));
      data_follows = false;
    }
    std::uint64_t data_size = data_follows ? size : 0;
    entry.size = entry.type == EntryType::File ? data_size : 0;
    remaining_ = data_size;
    padding_ = TarWriter::padding(data_size);
    data_offset_ = pos_;
    return std::optional<TarEntry>(std::move(entry));
  }
}

}  // namespace de::oci
