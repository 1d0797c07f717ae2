// A new layer whose tar is generated each time it is opened, from entries kept in memory and data
// read only while the tar is read: the one producer of new layer tars in the library.
// LayerBuilder (host files and in-memory contents) and build::entries_layer (a conda
// environment's files, streamed from the package cache) are front ends to it.
//
// The tar depends only on the entries given:
//   - one entry per path (a later entry for a path replaces an earlier one), sorted bytewise;
//   - every parent directory no entry names is added before its children, as `implied_directory`
//     makes it (mode 0755, owner 0:0 and mtime 0 unless it says otherwise);
//   - mtimes clamped to `clamp_mtime` when set (SOURCE_DATE_EPOCH);
//   - a Hardlink to a File that sorts before it stays a link; one to a File that sorts after it is
//     written as a copy of that file's data (a tar can only link to an entry already written);
//     a Hardlink to anything else is refused;
//   - headers as TarWriter::encode_header writes them (ustar, pax only for what ustar cannot hold,
//     uname/gname as given — empty for a deterministic layer).
// Owners and modes are the entries' own.
//
// The layer is immutable and may be opened from several threads at once (its EntryData must
// allow that: open() is called from whichever thread reads the tar).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/tar.hpp"

namespace de::oci {

// Where the data of a generated layer's File entries comes from.
class EntryData {
 public:
  virtual ~EntryData() = default;
  // The data of a File entry; `source` is the entry's GeneratedEntry::data. Exactly entry.size
  // bytes are read, then one more is asked for to check that the data ends there.
  virtual Result<std::unique_ptr<Reader>> open(const TarEntry& entry, std::size_t source) const = 0;
  // The error when the data ends after `got` < entry.size bytes or, with `got` > entry.size, goes
  // on (the file changed since it was listed, or a plan was wrong).
  virtual Error wrong_size(const TarEntry& entry, std::size_t source, std::uint64_t got) const = 0;
};

struct GeneratedEntry {
  static constexpr std::size_t kNoData = std::numeric_limits<std::size_t>::max();

  TarEntry tar;  // path normalised (normalize_path), not the root; Hardlink targets too
  // File: what EntryData::open() is given for its data.
  std::size_t data = kNoData;
};

struct GeneratedLayerOptions {
  // Adjusts a parent directory that no entry names, given as Directory, mode 0755, 0:0, mtime 0.
  std::function<void(TarEntry&)> implied_directory;
  std::optional<std::int64_t> clamp_mtime;
  // What describe() says; default "new layer (N entries)".
  std::string description;
};

// Fails (InvalidArgument naming the path) for a Hardlink whose target is not a File of the layer,
// and for an entry no tar can hold ("adding PATH: ..."), so that reading the tar later cannot fail
// on an entry. blob() and diff_id() are empty, tar_size() is exact.
Result<LayerPtr> generated_layer(std::vector<GeneratedEntry> entries,
                                 std::shared_ptr<const EntryData> data,
                                 const GeneratedLayerOptions& options = {});

}  // namespace de::oci
