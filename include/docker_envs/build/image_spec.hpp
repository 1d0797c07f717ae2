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
//     entrypoint: [/opt/conda/bin/python]   # a list (exec form); for a string see below
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

// entrypoint/cmd given as a string rather than a list: one word is that word alone (["serve"]);
// text with blanks is the shell form, as a Dockerfile's `CMD mytool --help` is:
// ["/bin/sh", "-c", "mytool --help"] (the image needs a /bin/sh then).
std::vector<std::string> command_from_string(std::string_view text);
// Whether a command is that shell form.
bool is_shell_form(const std::vector<std::string>& command);

// Whether a base image names a local file or directory rather than a registry image: it starts
// with "./", "../", "/" or "~/", ends in .tar, .tar.gz, .tgz or .tar.zst, or its first
// '/'-separated component is a directory under `dir` ("build/layout" with build/ there).
// Registry references ("debian:bookworm", "ghcr.io/o/r:1") are not.
bool base_is_path(std::string_view base, const std::filesystem::path& dir);

// image.base as the environment file means it: a path (bare or inside a docker-archive:, oci: or
// oci-archive: reference) relative to `dir`, like channels and files; scratch, docker://REF and
// registry references unchanged.
std::string resolve_base(std::string_view base, const std::filesystem::path& dir);

// An image name as the reference grammar allows (distribution/reference): lowercase path
// components of [a-z0-9] joined by '.', '_', "__" or runs of '-', separated by '/'; a registry
// host ("localhost:5000/", "reg.example/") is kept. Invalid characters and separator runs become
// one '-', components are trimmed of separators; "environment" when nothing is left.
// "My_Env" -> "my_env", "My Env!" -> "my-env".
std::string reference_name(std::string_view name);
// A tag as the grammar allows ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}): other characters become '-',
// a leading '.' or '-' is dropped; "latest" when nothing is left.
std::string reference_tag(std::string_view tag);

// `what` names the document in errors ("environment.yml"); `base_dir` resolves relative files.
Result<EnvironmentImageFile> parse_environment_image(std::string_view yaml, std::string_view what,
                                                     const std::filesystem::path& base_dir);
Result<EnvironmentImageFile> load_environment_image(const std::filesystem::path& path);

}  // namespace de::build
