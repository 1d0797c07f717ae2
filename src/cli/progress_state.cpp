// What every renderer shares: the stage and task bookkeeping, rates, durations and the locking
// entry points (see progress.hpp).
#include <algorithm>
#include <cmath>

#include "cli/progress.hpp"

namespace de::cli {

Result<ProgressMode> parse_progress_mode(std::string_view text) {
  if (text == "auto") return ProgressMode::Auto;
  if (text == "tty") return ProgressMode::Tty;
  if (text == "plain") return ProgressMode::Plain;
  if (text == "json") return ProgressMode::Json;
  return fail(Code::InvalidArgument, "--progress {}: expected auto, tty, plain or json", text);
}

std::uint64_t StageState::bytes() const {
  std::uint64_t n = bytes_done;
  for (const auto& t : active) n += t.bytes;
  return n;
}

StageState& ProgressState::stage(std::string_view name, double now) {
  // The latest stage of that name (a multi-platform build runs "fetch" once per platform).
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it)
    if (it->name == name) return *it;
  stages_.push_back({.name = std::string(name), .start = now});
  return stages_.back();
}

StageState* ProgressState::apply(const progress::Event& e, double now) {
  using progress::Kind;
  if (e.kind == Kind::StageStart) {
    stages_.push_back({.name = std::string(e.stage),
                       .detail = std::string(e.detail),
                       .start = now,
                       .total = static_cast<std::size_t>(e.total)});
    return &stages_.back();
  }
  if (e.kind == Kind::Note || e.kind == Kind::Warning || e.kind == Kind::Retry) {
    // Lines that belong to a stage when there is one; they never open one.
    for (auto it = stages_.rbegin(); it != stages_.rend(); ++it)
      if (it->name == e.stage) return &*it;
    return nullptr;
  }
  StageState& s = stage(e.stage, now);
  auto find = [&]() {
    return std::ranges::find_if(s.active, [&](const TaskState& t) { return t.name == e.task; });
  };
  switch (e.kind) {
    case Kind::StageEnd:
      if (s.running()) s.end = now;
      s.summary = std::string(e.detail);
      s.active.clear();
      break;
    case Kind::TaskStart:
      if (auto it = find(); it != s.active.end()) s.active.erase(it);
      s.active.push_back({std::string(e.task), e.bytes, e.total, now});
      break;
    case Kind::TaskProgress: {
      auto it = find();
      if (it == s.active.end()) {
        s.active.push_back({std::string(e.task), 0, e.total, now});
        it = std::prev(s.active.end());
      }
      it->bytes = e.bytes;
      if (e.total) it->total = e.total;
      break;
    }
    case Kind::TaskEnd: {
      if (auto it = find(); it != s.active.end()) s.active.erase(it);
      ++s.done;
      s.bytes_done += e.bytes;
      std::string outcome(e.detail.empty() ? "done" : e.detail);
      auto o = std::ranges::find_if(s.outcomes, [&](const auto& p) { return p.first == outcome; });
      if (o == s.outcomes.end())
        s.outcomes.emplace_back(std::move(outcome), 1);
      else
        ++o->second;
      break;
    }
    default:
      break;
  }
  return &s;
}

std::string ProgressState::timings() const {
  std::string out;
  for (const auto& s : stages_) {
    if (s.running()) continue;
    if (!out.empty()) out += ", ";
    out += s.name + " " + format_duration(s.end - s.start);
  }
  return out;
}

void RateMeter::sample(double now, std::uint64_t bytes) {
  constexpr double kWindow = 5.0;
  if (!samples_.empty() && bytes < samples_.back().second) samples_.clear();  // a new count
  samples_.emplace_back(now, bytes);
  auto old = std::ranges::find_if(samples_, [&](const auto& s) { return now - s.first <= kWindow; });
  // Keep one sample older than the window, so that the window is covered.
  if (old != samples_.begin()) samples_.erase(samples_.begin(), std::prev(old));
}

double RateMeter::rate() const {
  if (samples_.size() < 2) return 0;
  double dt = samples_.back().first - samples_.front().first;
  if (dt < 0.5) return 0;
  return static_cast<double>(samples_.back().second - samples_.front().second) / dt;
}

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 10) return fmt::format("{:.1f} s", seconds);
  auto whole = static_cast<long>(std::lround(seconds));
  if (whole < 60) return fmt::format("{} s", whole);
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, whole / 60 % 60);
}

Renderer::Renderer(RendererOptions options) : options_(std::move(options)) {}

void Renderer::report(const progress::Event& event) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  double now = options_.clock();
  StageState* stage = state_.apply(event, now);
  on_event(event, stage, now);
}

void Renderer::log_line(log::Level level, std::string_view message) {
  std::lock_guard lock(mutex_);
  if (finished_) {
    // After the end (an error's cleanup): straight through, as the log would have written it.
    out(fmt::format("{}{}\n", level == log::Level::Warn ? "warning: " : "", message));
    return;
  }
  on_log(level, message, options_.clock());
}

void Renderer::tick() {
  std::lock_guard lock(mutex_);
  if (!finished_) on_tick(options_.clock());
}

void Renderer::finish(std::span<const std::string> summary) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  on_finish(summary, options_.clock());
}

}  // namespace de::cli
