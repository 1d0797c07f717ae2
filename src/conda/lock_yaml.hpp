// Private helpers of the YAML lock readers (conda_lock.cpp, pixi_lock.cpp, lock_file.cpp):
// yaml-cpp stays out of public headers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/conda/lock_file.hpp"

namespace de::conda::detail {

// 1-based line of a node (0 when yaml-cpp has no mark).
inline int line_of(const YAML::Node& node) {
  auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

// "what:line", or "what" when the line is unknown.
inline std::string where(std::string_view what, const YAML::Node& node) {
  int line = line_of(node);
  return line > 0 ? fmt::format("{}:{}", what, line) : std::string(what);
}

// True when a line of `text` starts with `prefix` (a top-level YAML key, a marker line).
bool starts_a_line(std::string_view text, std::string_view prefix);

// A required scalar field of a mapping.
Result<std::string> required_scalar(const YAML::Node& map, const char* key, std::string_view what);
// An optional scalar field; `fallback` when absent, null or not a scalar.
std::string optional_scalar(const YAML::Node& map, const char* key, std::string fallback = {});
// A sequence of scalars (absent or null: empty); InvalidArgument naming the line otherwise.
Result<std::vector<std::string>> scalar_list(const YAML::Node& node, const char* key,
                                             std::string_view what);
// An optional unsigned number field; InvalidArgument naming the line when not a number.
Result<std::optional<std::uint64_t>> optional_number(const YAML::Node& map, const char* key,
                                                     std::string_view what);
// Optional md5 / sha256 fields of `map` into `md5` / `sha256`, naming `who` and the field (after
// `prefix`, e.g. "hash.") on a bad digest.
Status read_hashes(const YAML::Node& map, std::string_view at, std::string_view who,
                   std::optional<Md5Hash>& md5, std::optional<Digest>& sha256,
                   std::string_view prefix = {});

// The documents' own readers (root is a mapping whose `version` was read already).
Result<LockFile> read_conda_lock_v1(const YAML::Node& root, std::string_view what);
Result<LockFile> read_pixi_lock(const YAML::Node& root, int version, std::string_view what,
                                const std::filesystem::path& base_dir);

// Runs `read` on `text` parsed as YAML, turning yaml-cpp exceptions into errors naming the line.
template <typename F>
auto with_yaml(std::string_view text, std::string_view what, F&& read)
    -> decltype(read(YAML::Node())) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: invalid YAML: {}", what,
                e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg);
  }
  try {
    return read(root);
  } catch (const YAML::Exception& e) {
    return fail(Code::InvalidArgument, "{}:{}: {}", what, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                e.msg);
  }
}

}  // namespace de::conda::detail
