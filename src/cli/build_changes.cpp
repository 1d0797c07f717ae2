// The text and JSON of a build's changes since the last build of the same environment.
#include "cli/build_changes.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

namespace de::cli {

namespace {

// Columns the layer list is wrapped at: an 80-column terminal, one short of the edge.
constexpr std::size_t kWidth = 79;

std::string describe(const build::RecordedPackage& p) {
  return fmt::format("{} {}{}", p.name, p.version, p.pypi ? " (pypi)" : "");
}

// "~ python 3.11.7 → 3.11.8"; the same version: what else changed, the build or the channel.
std::string describe(const build::PackageChange& c) {
  const auto& [a, b] = c;
  std::string kind = b.pypi ? " (pypi)" : "";
  if (a.version != b.version) return fmt::format("{} {} → {}{}", b.name, a.version, b.version, kind);
  if (a.build != b.build)
    return fmt::format("{} {} (build {} → {}){}", b.name, b.version, a.build, b.build, kind);
  return fmt::format("{} {} (channel {} → {}){}", b.name, b.version,
                     a.channel.empty() ? "?" : a.channel, b.channel.empty() ? "?" : b.channel, kind);
}

nlohmann::json package_json(const build::RecordedPackage& p) {
  return {{"name", p.name},
          {"version", p.version},
          {"build", p.build},
          {"channel", p.channel},
          {"pypi", p.pypi}};
}

}  // namespace

std::string utc_time(std::int64_t unix_seconds, bool iso) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char text[40];
  std::strftime(text, sizeof text, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::vector<std::string> changes_lines(const build::BuildChanges& c, std::string_view platform,
                                       std::size_t max_layer_labels) {
  std::vector<std::string> lines;
  std::string since = fmt::format("since the last build ({}, {})", c.previous_tag.empty() ? "?" : c.previous_tag,
                                  utc_time(c.previous_written));
  std::string prefix = platform.empty() ? "" : std::string(platform) + ": ";
  if (c.packages_changed())
    lines.push_back(fmt::format("{}changes {}:", prefix, since));
  else
    lines.push_back(fmt::format("{}no package changed {}", prefix, since));
  for (const auto& p : c.added) lines.push_back("  + " + describe(p));
  for (const auto& p : c.removed) lines.push_back("  - " + describe(p));
  for (const auto& p : c.changed) lines.push_back("  ~ " + describe(p));
  const auto& rebuilt = c.layers_rebuilt;
  if (!rebuilt.empty()) {
    // Wrapped at kWidth (the summary is not cut to the terminal): "a, b," then "    c".
    std::vector<std::string> names;
    for (std::size_t i = 0; i < rebuilt.size() && i < max_layer_labels; ++i)
      names.push_back(rebuilt[i] + (i + 1 < std::min(rebuilt.size(), max_layer_labels) ? "," : ""));
    if (rebuilt.size() > max_layer_labels)
      names.back() += fmt::format(" and {} more", rebuilt.size() - max_layer_labels);
    std::string line = fmt::format("  rebuilt {} of {} layers:", rebuilt.size(),
                                   rebuilt.size() + c.layers_reused.size());
    for (const auto& n : names) {
      if (line.size() + 1 + n.size() > kWidth && !line.ends_with(":")) {
        lines.push_back(std::move(line));
        line = "   ";
      }
      line += " " + n;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

nlohmann::json changes_json(const std::optional<build::BuildChanges>& changes) {
  if (!changes) return nullptr;
  const auto& c = *changes;
  nlohmann::json added = nlohmann::json::array(), removed = nlohmann::json::array(),
                 changed = nlohmann::json::array();
  for (const auto& p : c.added) added.push_back(package_json(p));
  for (const auto& p : c.removed) removed.push_back(package_json(p));
  for (const auto& p : c.changed)
    changed.push_back({{"name", p.after.name},
                       {"pypi", p.after.pypi},
                       {"before", package_json(p.before)},
                       {"after", package_json(p.after)}});
  return {{"previous",
           {{"tag", c.previous_tag},
            {"manifest_digest", c.previous_manifest},
            {"time", utc_time(c.previous_written, /*iso=*/true)}}},
          {"added", std::move(added)},
          {"removed", std::move(removed)},
          {"changed", std::move(changed)},
          {"layers", {{"rebuilt", c.layers_rebuilt}, {"reused", c.layers_reused}}}};
}

}  // namespace de::cli
