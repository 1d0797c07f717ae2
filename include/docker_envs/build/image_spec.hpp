// The declarative part of an environment.yml that conda ignores: the `image:` section, plus the
// top-level `name:` and `variables:` that the image uses.
//
//   name: demo
//   variables: {MY_SETTING: "1"}
//   image:
//     base: debian:bookworm-slim    # registry ref, archive path or transport ref, or `scratch`
//     name: demo:1.0                # NAME[:TAG] of the output
//     prefix: /opt/conda
//     platforms: [linux-64]
//     entrypoint: [/opt/conda/bin/python]   # a list; a string is a one-element list
//     cmd: [-c, "print(1)"]
//     workdir: /work
//     user: "1000:1000"             # the prefix's files are owned by it
//     env: {LANG: C.UTF-8}          # or a list of NAME=VALUE
//     labels: {org.opencontainers.image.source: https://example.org}
//     files: ["app/:/app", {source: conf.ini, dest: /etc/app.ini}]   # added in the final layer
//     layering: {strategy: auto, max_layers: 64}
//
// Parsing checks the shape and values (unknown keys included) and fails with InvalidArgument
// naming "file:line". Relative `files` sources are relative to the file's directory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/build/layer_plan.hpp"

namespace de::build {

struct FileSpec {
  std::filesystem::path source;  // host path (file or directory)
  std::string dest;              // absolute path in the image
  // "SRC:DEST" (DEST absolute) -> {SRC, DEST}; "SRC" alone -> {SRC, "/<basename of SRC>"}.
  static Result<FileSpec> parse(std::string_view text);
};

using NameValue = std::pair<std::string, std::string>;

// Every member is unset when the file does not give it; the CLI's flags override each one.
struct ImageSpec {
  std::optional<std::string> base;
  std::optional<std::string> name;
  std::optional<std::string> prefix;
  std::optional<std::vector<std::string>> platforms;
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::vector<NameValue> env;
  std::vector<NameValue> labels;
  std::vector<FileSpec> files;
  std::optional<LayerStrategy> strategy;
  std::optional<std::size_t> max_layers;
};

struct EnvironmentImageFile {
  std::string name;                  // top-level `name:`, "" when absent
  std::vector<NameValue> variables;  // top-level `variables:`
  ImageSpec image;
};

// `what` names the document in errors ("environment.yml"); `base_dir` resolves relative files.
Result<EnvironmentImageFile> parse_environment_image(std::string_view yaml, std::string_view what,
                                                     const std::filesystem::path& base_dir);
Result<EnvironmentImageFile> load_environment_image(const std::filesystem::path& path);

}  // namespace de::build
