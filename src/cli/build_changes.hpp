// How `docker-envs build` shows what changed since the last build of the same environment
// (build::BuildChanges, include/docker_envs/build/build_record.hpp): lines for the summary every
// progress mode ends with, and the `changes` object of --json.
//
//   changes since the last build (app:1, 2026-12-03 05:12 UTC):
//     + numpy 1.26.4
//     - six 1.16.0
//     ~ python 3.11.7 → 3.11.8
//     rebuilt 3 of 31 layers: python-3.11.8-h_0, numpy-1.26.4-py311_0,
//       environment files (conda-meta/history)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/build/build_record.hpp"

namespace de::cli {

// The summary lines of one platform's changes; `platform` (several platforms) prefixes the
// header. At most `max_layer_labels` rebuilt layers are named, then a count, wrapped to fit 80
// columns (a label longer than that gets a line of its own).
std::vector<std::string> changes_lines(const build::BuildChanges& changes,
                                       std::string_view platform = {},
                                       std::size_t max_layer_labels = 5);

// {"previous": {"tag", "manifest_digest", "time"}, "added": [PACKAGE], "removed": [PACKAGE],
//  "changed": [{"name", "pypi", "before": PACKAGE, "after": PACKAGE}],
//  "layers": {"rebuilt": [label], "reused": [label]}}, PACKAGE = {"name", "version", "build",
// "channel", "pypi"}; null for a first build.
nlohmann::json changes_json(const std::optional<build::BuildChanges>& changes);

// "2026-12-03 05:12 UTC" (`iso`: "2026-12-03T05:12:00Z").
std::string utc_time(std::int64_t unix_seconds, bool iso = false);

}  // namespace de::cli
