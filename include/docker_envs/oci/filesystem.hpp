// Listing what layers contain: one layer's entries, or the filesystem an image's layers make
// together (the union view a container sees).
//
// Pure functions over Layers; safe to call from several threads when the layers are (Layer
// implementations must be).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/tar.hpp"

namespace de::oci {

// OCI image-spec whiteouts: ".wh.NAME" deletes NAME from lower layers; ".wh..wh..opq" in a
// directory hides everything lower layers put under it.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

// The entries of one layer, with normalised paths, in tar order (whiteouts included).
Result<std::vector<TarEntry>> list_layer(const Layer& layer);

// The union of `layers` (bottom first) as the OCI image-spec defines it: later layers override
// earlier ones; ".wh.NAME" deletes NAME and its subtree from lower layers; ".wh..wh..opq" in
// directory D hides everything lower layers have under D; a non-directory replacing a directory
// drops the directory's subtree. Whiteouts only act on lower layers (never on entries of their own
// layer) and are never listed themselves; neither is the root directory. Sorted by path.
Result<std::vector<TarEntry>> merged_filesystem(const std::vector<LayerPtr>& layers);

// A path as `tar -t` and `ls --quoting-style=escape` print it: control characters (and DEL) become
// C escapes ("\n", "\t", "\x1b") and a backslash becomes "\\", so that no name can start a new
// line or move the cursor. Other bytes, UTF-8 included, are kept.
std::string escape_path(std::string_view path);

// One line like `tar -tv`: "-rwxr-xr-x 0/0  1234 2024-01-01 12:00 usr/bin/x", with
// "uname/gname" when set, "major,minor" for devices, "dir/" for directories, "a -> target" for
// symlinks and "a link to target" for hardlinks. Times are UTC. Paths and targets are escaped
// (escape_path).
std::string format_long(const TarEntry& entry);

}  // namespace de::oci
