// A layer made from the installer's entries (conda::InstallEntry), streamed straight from the
// package cache: no installed tree is written to disk first.
//
// The tar is deterministic: entries sorted bytewise by path, every missing parent directory
// added (mode 0755) before its children, one fixed mtime, empty user/group names. Paths at or
// below the prefix are owned by `owner` (default 0:0); the parents above it by root. A hardlink
// whose target sorts after it (or is not in the layer) is written as a copy of the target, since
// a tar can only link to an entry already written.
//
// The built layer is immutable and may be opened from several threads at once; it reads package
// files only while its tar is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/installer.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::build {

struct Owner {
  std::int64_t uid = 0, gid = 0;
  // "UID:GID" (numbers only: the image's passwd file is not read); "UID" alone means UID:UID.
  static Result<Owner> parse(std::string_view text);
  std::string to_string() const;
  friend bool operator==(const Owner&, const Owner&) = default;
};

struct EntriesLayerOptions {
  std::string prefix = "/opt/conda";  // the absolute prefix the entries were planned for
  Owner owner;
  std::int64_t mtime = 0;  // every entry's mtime (SOURCE_DATE_EPOCH, or 0)
  std::string description = "environment layer";
};

// Fails (InvalidArgument, naming the path) for an entry no tar can hold, or a hardlink to a path
// that is not in `entries`.
Result<oci::LayerPtr> entries_layer(std::vector<conda::InstallEntry> entries,
                                    const EntriesLayerOptions& options);

}  // namespace de::build
