// Shared pieces of the command-line front end. The CLI is the only code that reads argv and the
// environment; what it reads is handed to the libraries as option values.
//
// Each command lives in its own file and registers itself with add_<command>(): it adds a CLI11
// subcommand whose callback stores the command's action in the CommandTable; main() runs the action
// after parsing succeeds, so that usage errors (exit 2) and run-time errors (exit 1) stay apart.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/progress.hpp"
#include "docker_envs/base/compression.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/image.hpp"
#include "docker_envs/oci/image_ref.hpp"

namespace de::cli {

inline constexpr std::string_view kProgram = "docker-envs";
inline constexpr std::string_view kVersion = "0.1.0";

// What main() learned from the environment; filled in after parsing, before an action runs.
struct Globals {
  // SOURCE_DATE_EPOCH: clamps file mtimes and sets the created times that are written. When
  // absent no time is written at all (never the host's clock).
  std::optional<std::int64_t> source_date_epoch;
  // --progress, -v and -q: how a command shows its progress (progress.hpp).
  ProgressSettings progress;
};

struct CommandTable {
  std::function<Status(const Globals&)> action;  // set by the chosen subcommand's callback
};

// Command registration, one per file.
void add_image_inspect(CLI::App& parent, CommandTable& commands);
void add_image_ls(CLI::App& parent, CommandTable& commands);
void add_image_add_layer(CLI::App& parent, CommandTable& commands);
void add_image_remove_layer(CLI::App& parent, CommandTable& commands);
void add_image_config(CLI::App& parent, CommandTable& commands);
void add_image_copy(CLI::App& parent, CommandTable& commands);

// Sets the callback of `sub` to store `run` (bound to options owned by the closure) in the
// registry.
template <class Options, class Run>
void on_run(CLI::App* sub, CommandTable& commands, std::shared_ptr<Options> options, Run run) {
  sub->callback([&commands, options, run] {
    commands.action = [options, run](const Globals& globals) { return run(*options, globals); };
  });
}

// Parses SOURCE_DATE_EPOCH's value (a non-negative decimal number of seconds).
Result<std::int64_t> parse_source_date_epoch(std::string_view text);

// "docker-archive:...", "oci:...", "oci-archive:...", "scratch" or a bare path. `role` ("source",
// "destination") names it in errors.
Result<oci::ImageRef> parse_ref(std::string_view text, std::string_view role);
// Checks a destination before any work is done: a transport reference or docker://REF.
Status check_destination(std::string_view text);

// The images an image command works on: one image, or every platform of a multi-platform source.
struct SourceImages {
  std::string source;  // SRC as messages show it
  std::vector<oci::Image> images;
  std::vector<oci::Platform> platforms;  // each image's
  // The source is a multi-platform image and is written as one where the destination can hold
  // one (OCI layouts, registries).
  bool index = false;
  // The images an edit applies to: every one, or the one --platform picked (`picked`).
  std::vector<std::size_t> selected;
  bool picked = false;
  // The index the images were read from, so that writing them unedited keeps its bytes and digest
  // (an edit derives a new index); null when --platform picked one image, or none was read.
  std::shared_ptr<const oci::SourceIndex> source_index;

  std::string platform_list() const;  // "linux/amd64, linux/arm64/v8"
  // Applies `edit` (Image -> Result<Image>) to every selected image; an error names the platform
  // of a multi-platform image.
  template <class Edit>
  Status edit(Edit edit) {
    for (std::size_t i : selected) {
      Result<oci::Image> edited = edit(std::move(images[i]));
      if (!edited) {
        if (!index) return std::unexpected(std::move(edited).error());
        return std::unexpected(
            std::move(edited).error().add_context("platform " + platforms[i].to_string()));
      }
      images[i] = std::move(*edited);
    }
    return {};
  }
};

// What --platform means to a command.
enum class PlatformUse {
  Pick,  // keeps only the image it picks (copy, inspect, ls, push)
  Edit,  // names the one image an edit applies to; the others are written unchanged
};

// Reads SRC for an image command: without `platform` every image of a multi-platform source,
// with it the one it picks (an error naming the platforms there are when none matches; a
// single-platform source must be of that platform). A docker:// source is read for `platform`
// (default: the host's).
Result<SourceImages> read_sources(std::string_view text, std::string_view platform,
                                  PlatformUse use);

// Writes what read_sources() read (and a command edited) to the destination `text`: a
// multi-platform image as an image index (OCI layouts, registries); to a docker-archive only one
// image, the one --platform picked (an error naming the platforms otherwise). `stamp_created`
// stamps the selected images only.
Status write_destinations(SourceImages images, std::string_view text,
                          const oci::WriteOptions& options, const Globals& globals,
                          bool stamp_created);

// Whether the destination `text` can hold a multi-platform image (an OCI layout, a registry).
bool destination_holds_index(std::string_view text);

// Adds `--platform os/arch[/variant]` to an image command; `edit` words its help for edits.
void add_platform_option(CLI::App* sub, std::string& target, PlatformUse use);

// The created time to record, from SOURCE_DATE_EPOCH; empty (leave absent) without it.
std::string created_time(const Globals& globals);

// Writes `image` to the destination named by `text` (refusing "scratch"), and logs what was
// written. For edited images the config's created time is set from SOURCE_DATE_EPOCH first
// (`stamp_created`); copies keep the source's config bytes.
Status write_destination(oci::Image image, std::string_view text, const oci::WriteOptions& options,
                         const Globals& globals, bool stamp_created);

// Refuses a negative number for an unsigned option (CLI11 would wrap "-1" around to 2^64-1):
// "--layer: -1 is negative; layers are counted from 0 (the bottom)".
CLI::Validator non_negative(std::string what);

// Adds `--compression gzip|zstd|none` to `sub`, storing the (validated) name into `target`;
// compression_options() turns it into write options.
void add_compression_option(CLI::App* sub, std::optional<std::string>& target);
Result<Compression> layer_compression(std::string_view name);
// Write options for --compression: given, every layer an OCI layout or registry gets compressed
// is in that compression (stored blobs in another one are decompressed and compressed again: a
// new digest, the same diffID); absent, new layers are gzip and stored compressed blobs are kept.
Result<oci::WriteOptions> compression_options(const std::optional<std::string>& name);

}  // namespace de::cli
