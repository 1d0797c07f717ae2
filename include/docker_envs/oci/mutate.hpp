// Edits of an Image that return a new Image (in the style of go-containerregistry's mutate/).
//
// Inputs are taken by value and never modified through shared state: layers are shared read-only
// pointers, so the source image stays usable. Every function here forgets the source's bytes
// (Image::forget_source_bytes), so the config is re-serialised (canonically) when the result is
// written.
//
// Invariants kept by every function (and restored when a source image breaks them):
//  - History: the number of history entries with empty_layer == false equals the number of
//    layers, and the i-th such entry describes layer i. A source whose history has too few
//    non-empty entries (or none at all) is first padded at the end with one entry per layer
//    lacking one (created_by empty, comment "history absent in the source image"); one with too
//    many has the surplus (the last ones) marked empty_layer, so nothing is lost.
//  - diff_ids: config.rootfs.diff_ids has one entry per layer, in layer order. A layer whose
//    diff_id() is known contributes it; a layer built from host files (diff_id() empty until its
//    tar is produced) contributes the all-zero Digest() as a placeholder. Writers finalise
//    diff_ids from the layers as they write them, so a placeholder never reaches a written image.
//
// Nothing here reads the clock: times come in as RFC 3339 strings chosen by the caller (the CLI
// derives them from SOURCE_DATE_EPOCH), and an empty time means "leave absent".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/config.hpp"
#include "docker_envs/oci/image.hpp"

namespace de::oci {

// Adds `layer` on top. `history` describes it; its empty_layer flag is forced to false.
Image append_layer(Image image, LayerPtr layer, HistoryEntry history);

// Removes the layer at `index` (0 = bottom; default: the top layer), its diff_id and its history
// entry. Fails with InvalidArgument naming the valid range when `index` is out of range or the
// image has no layers.
Result<Image> remove_layer(Image image, std::optional<std::size_t> index = std::nullopt);

// Changes to the container config. Lists are applied in order; empty members change nothing.
struct ConfigEdit {
  std::vector<std::pair<std::string, std::string>> env;  // NAME, VALUE; replaces an existing NAME
  std::optional<std::vector<std::string>> entrypoint;    // an empty vector clears it
  std::optional<std::vector<std::string>> cmd;           // an empty vector clears it
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::vector<std::pair<std::string, std::string>> labels;  // KEY, VALUE
  std::vector<std::string> expose;                          // "80", "80/tcp", "53/udp"
  // created/author/comment of the empty_layer history entry recorded for the edit; created_by is
  // filled with a description of the change when left empty (see created_by_prefix).
  HistoryEntry history;
  // Names the tool in a filled-in created_by: "PREFIX: ENV A=1; EXPOSE 80/tcp" (the description
  // alone when empty). The library records no name of its own; the CLI passes
  // "docker-envs image config".
  std::string created_by_prefix;
};

// Validates the whole edit before changing anything (env names non-empty and without '=', ports
// 1-65535 with an optional /tcp, /udp or /sctp, labels with non-empty keys, a non-empty workdir
// must be absolute), applies it and records one empty_layer history entry. Fails with
// InvalidArgument naming the offending value.
Result<Image> edit_config(Image image, const ConfigEdit& edit);

// Sets the config's "created" time (RFC 3339).
void set_created(Image& image, std::string rfc3339);

// Seconds since the Unix epoch as RFC 3339 UTC ("1970-01-01T00:00:00Z"), for SOURCE_DATE_EPOCH.
std::string rfc3339_from_epoch(std::int64_t seconds);

// Validates one exposed-port spec and returns its canonical form ("80" -> "80/tcp").
Result<std::string> parse_port(std::string_view spec);

}  // namespace de::oci
