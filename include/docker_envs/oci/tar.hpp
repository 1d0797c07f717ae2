// Streaming tar reading and deterministic tar writing, for layer tars.
//
// TarReader understands what real layers contain: POSIX ustar (with the prefix field), pax
// extended headers (local and global), GNU long names ('L'/'K'), base-256 numbers and old v7
// headers. Metadata is bounded: at most 1 MiB of pax records before one entry, 1 MiB of global
// records in all, 1 MiB for a GNU long name (Corruption beyond, naming the header's offset); a
// global header sets only owner and mtime defaults (its path, size or xattrs would apply to every
// entry; Docker ignores global headers entirely). It tracks the exact byte offset of every entry's data so that archive readers can
// later open an entry by offset without re-reading the archive (lazy random access into a
// `docker save` tarball) — the reason this is not libarchive.
//
// TarWriter writes ustar, adding a pax header only for what ustar cannot hold, with a fixed
// header name and mtime: the output depends only on the entries given.
//
// Neither class is thread-safe; each borrows its stream (which must outlive it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"

namespace de::oci {

enum class EntryType { File, Directory, Symlink, Hardlink, CharDevice, BlockDevice, Fifo };

std::string_view to_string(EntryType type);

struct TarEntry {
  // Normalised (see normalize_path) when read; directories carry no trailing '/'. "" is the root.
  std::string path;
  EntryType type = EntryType::File;
  std::uint32_t mode = 0644;  // permission bits only (07777)
  std::uint64_t size = 0;     // data bytes; 0 for everything but File
  // Symlink: the target as stored. Hardlink: the normalised path of the entry linked to.
  std::string link_target;
  std::int64_t uid = 0, gid = 0;
  std::string uname, gname;
  std::int64_t mtime = 0;  // seconds since the epoch (fractions dropped)
  std::uint32_t dev_major = 0, dev_minor = 0;
  std::map<std::string, std::string> xattrs;  // from pax SCHILY.xattr.NAME records

  friend bool operator==(const TarEntry&, const TarEntry&) = default;
};

// Makes a tar path relative and clean: "./a//b/" -> "a/b", "/x" -> "x", "a/./b/../c" -> "a/c",
// "." or "" -> "" (the root). A ".." that would climb above the root is refused with
// Code::Corruption naming the path: every path read from a tar goes through here before use.
Result<std::string> normalize_path(std::string_view path);

class TarReader {
 public:
  // Reads from `in` (borrowed), which must be positioned at the start of the archive.
  explicit TarReader(Reader& in) : in_(in) {}

  // The next entry, skipping whatever data of the previous one was not read; nullopt at the end
  // (two zero blocks, or end of stream on a block boundary). Metadata headers (pax, GNU long
  // names) are folded into the entry they describe and never returned themselves. At the end,
  // the rest of `in` is read and discarded, so that a verifying stream (Layer::open_tar) checks
  // its digest before the end is reported.
  Result<std::optional<TarEntry>> next();
  // Reads the current entry's data; returns 0 at its end.
  Result<size_t> read_data(std::span<std::byte> buf);
  // Offset of the current entry's data from the start of the stream.
  std::uint64_t data_offset() const { return data_offset_; }

 private:
  Status read_block(std::span<std::byte> block, bool* eof);
  Status skip(std::uint64_t n);
  Result<std::string> read_meta_data(std::uint64_t size, std::string_view what);

  Reader& in_;
  std::uint64_t pos_ = 0;        // bytes consumed from in_
  std::uint64_t remaining_ = 0;  // unread data bytes of the current entry
  std::uint64_t padding_ = 0;    // padding after the current entry's data
  std::uint64_t data_offset_ = 0;
  bool done_ = false;
  // What global pax headers set that applies to later entries (uid, gid, uname, gname, mtime
  // only), and the bytes of every global header read (bounded).
  std::map<std::string, std::string> global_pax_;
  std::uint64_t global_pax_bytes_ = 0;
};

class TarWriter {
 public:
  static constexpr std::uint64_t kBlockSize = 512;
  static constexpr std::uint64_t kTrailerSize = 1024;  // what finish() writes

  // Writes to `out` (borrowed); never closes it.
  explicit TarWriter(Writer& out) : out_(out) {}

  // Writes one entry: `data` must yield exactly entry.size bytes for a File (it is ignored, and
  // may be null, for other types). The path is written as given, with a '/' appended for
  // directories ("" becomes "./").
  Status add(const TarEntry& entry, Reader* data = nullptr);
  // Writes the end-of-archive marker (two zero blocks).
  Status finish();

  // Exactly the bytes add() writes for `entry`: headers, data and padding.
  static std::uint64_t encoded_size(const TarEntry& entry);
  // The header blocks add() writes before the data (pax header and its records when needed,
  // then the ustar header). Fails for entries no tar can hold (a NUL byte in a name).
  static Result<std::string> encode_header(const TarEntry& entry);
  // One 512-byte header for `entry`, with no pax header before it, for members whose header is
  // patched in place once their size is known (archive outputs): a size of 8 GiB or more is
  // written in GNU base-256, which tar readers (GNU tar, Go's archive/tar, TarReader) accept.
  // Unsupported when the entry needs a pax header for anything else (a long name, xattrs, ...).
  static Result<std::string> encode_single_header(const TarEntry& entry);
  // Zero bytes that follow `data_size` bytes of data to fill the last block.
  static std::uint64_t padding(std::uint64_t data_size) {
    return (kBlockSize - data_size % kBlockSize) % kBlockSize;
  }

 private:
  Writer& out_;
};

}  // namespace de::oci
