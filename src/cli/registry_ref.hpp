// The CLI side of the registry transport: `docker://REF` recognition, the flags every command that
// talks to a registry shares, and turning flags + environment ($DOCKER_CONFIG, $HOME,
// $XDG_CACHE_HOME) into registry::RegistryOptions. Only the CLI reads the environment.
#pragma once

#include <CLI/CLI.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/common.hpp"
#include "docker_envs/registry/client.hpp"

namespace de::cli {

inline constexpr std::string_view kRegistryPrefix = "docker://";

// True for "docker://REF".
bool is_registry_ref(std::string_view text);

struct RegistryFlags {
  std::string creds;                  // USER:PASS (never echoed)
  std::vector<std::string> insecure;  // --insecure-registry HOST[:PORT]
  std::string ca_file;                // --ca-file PEM
  std::string platform;               // --platform os/arch[/variant]
  int parallel = 4;
  bool json = false;
};

// Adds --creds, --insecure-registry, --ca-file, --parallel (and --platform when `platform`).
void add_registry_options(CLI::App* sub, RegistryFlags& flags, bool platform);

// Options from the flags and the environment: credentials from --creds or docker's config.json
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), the blob cache under
// $XDG_CACHE_HOME/docker-envs (else ~/.cache/docker-envs). The second form reports each blob to
// `reporter` as a task of `stage`, ended as `done` ("uploaded", "downloaded").
Result<registry::RegistryOptions> registry_options(const RegistryFlags& flags);
Result<registry::RegistryOptions> registry_options(const RegistryFlags& flags,
                                                   progress::Reporter* reporter,
                                                   std::string stage, std::string done);

// Parses "docker://REF" or a bare REF. A reference carrying credentials ("user:pw@host/repo") is
// refused without echoing them: they come from --creds or docker's config.json.
Result<registry::Reference> parse_registry_ref(std::string_view text);

// An image reference (registry or transport) as messages may show it: a password in
// "docker://user:PW@host/..." (or without docker://) and secret query values become "***".
std::string shown_ref(std::string_view text);

// Reads an image from a registry (`docker://REF` as any command's source). With fetch_layers off,
// layers download when first read.
Result<oci::Image> read_registry_image(std::string_view text, const RegistryFlags& flags,
                                       bool fetch_layers);

// Reads `docker://REF` as an image command's source: without a platform in `flags`, the whole
// image (every image of an index, with the index's bytes as `source_index`; layers download when
// first read), else the image of the platform `flags` names.
Result<SourceImages> read_registry_sources(std::string_view text, const RegistryFlags& flags);

// Pushes an image to `docker://REF` (any command's destination).
Result<registry::PushResult> write_registry_image(const oci::Image& image, std::string_view text,
                                                  const RegistryFlags& flags,
                                                  const registry::PushOptions& push);

// Pushes several images (one per platform) and an index over them to `docker://REF`.
Result<registry::PushResult> write_registry_index(std::span<const oci::Image> images,
                                                  std::string_view text, const RegistryFlags& flags,
                                                  const registry::PushOptions& push);

void add_image_pull(CLI::App& parent, CommandTable& commands);
void add_image_push(CLI::App& parent, CommandTable& commands);

}  // namespace de::cli
