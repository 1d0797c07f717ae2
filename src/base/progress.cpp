#include "docker_envs/base/progress.hpp"

#include <fmt/format.h>

namespace de::progress {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::StageStart: return "stage_start";
    case Kind::StageEnd: return "stage_end";
    case Kind::TaskStart: return "task_start";
    case Kind::TaskProgress: return "task_progress";
    case Kind::TaskEnd: return "task_end";
    case Kind::Retry: return "retry";
    case Kind::Note: return "note";
    case Kind::Warning: return "warning";
  }
  return "unknown";
}

std::string human_bytes(std::uint64_t n) {
  constexpr std::uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;
  auto d = static_cast<double>(n);
  if (n >= kGiB) return fmt::format("{:.1f} GiB", d / static_cast<double>(kGiB));
  if (n >= kMiB) return fmt::format("{:.1f} MiB", d / static_cast<double>(kMiB));
  if (n >= kKiB) return fmt::format("{:.1f} KiB", d / static_cast<double>(kKiB));
  return fmt::format("{} B", n);
}

}  // namespace de::progress
