// How the CLI shows progress (`--progress auto|tty|plain|json`, `-q`): the renderers of the
// library's progress events (docker_envs/base/progress.hpp) and of its log lines, and the display
// a command opens while it runs.
//
//   tty    one region on stderr redrawn in place (~10 Hz): a line per running stage with a bar,
//          bytes, rate and ETA, a line per active task; finished stages collapse to one line each
//          above it; notes and warnings scroll above it; never wider than the terminal.
//   plain  a line when a stage starts and ends; a heartbeat line every few seconds while a stage
//          runs long ("[fetch] 12/94 done, 140.0 MiB, 12.0 MiB/s, 25 s"); with -v a line per
//          finished task (counted in the order they finish) and per retry.
//   json   one JSON object per line: {"event", "stage", "task", "detail", "bytes", "total",
//          "time"} (time: seconds since the command started); log lines are "note"/"warning".
//   auto   tty when stderr is a terminal (and TERM is not "dumb"), else plain.
// -q shows nothing but errors. Every renderer writes whole lines under one lock: lines never
// interleave, and what it counts ("(13/94)") follows the order in which it is shown.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/log.hpp"
#include "docker_envs/base/os.hpp"
#include "docker_envs/base/progress.hpp"

namespace de::cli {

enum class ProgressMode { Auto, Tty, Plain, Json, Quiet };

// "auto", "tty", "plain", "json".
Result<ProgressMode> parse_progress_mode(std::string_view text);

// Seconds on a monotonic clock; the renderers never read a clock of their own (tests pass a fake).
using Clock = std::function<double()>;
// Where a renderer's text goes (whole lines, or a whole frame); stderr by default.
using Sink = std::function<void(std::string_view)>;

struct RendererOptions {
  Clock clock;  // required
  Sink sink;    // required
  bool verbose = false;
  double heartbeat = 5.0;  // plain: seconds between heartbeat lines of a running stage
  // tty: the terminal's size, asked once per frame (so a resize is picked up at the next frame).
  std::function<std::optional<TerminalSize>()> size;
};

// What the renderers know about the stages and their tasks.
struct TaskState {
  std::string name;
  std::uint64_t bytes = 0, total = 0;
  double start = 0;
};
struct StageState {
  std::string name, detail, summary;
  double start = 0, end = -1;  // end < 0: running
  std::size_t total = 0;       // tasks expected (0: unknown)
  std::size_t done = 0;        // tasks ended
  std::uint64_t bytes_done = 0;                            // bytes of the ended tasks
  std::vector<std::pair<std::string, std::size_t>> outcomes;  // per outcome, first seen first
  std::vector<TaskState> active;                           // started, not ended; in start order
  bool running() const { return end < 0; }
  std::uint64_t bytes() const;  // ended tasks' bytes + the active ones' so far
};
class ProgressState {
 public:
  // Applies one event at time `now`; returns the stage it concerns (created by its first task
  // event when it was not started), nullptr for a note, warning or retry outside any stage.
  StageState* apply(const progress::Event& e, double now);
  const std::vector<StageState>& stages() const { return stages_; }
  // The time per stage: "solve 0.4 s, fetch 1.2 s, layers 0.8 s".
  std::string timings() const;

 private:
  StageState& stage(std::string_view name, double now);
  std::vector<StageState> stages_;  // in the order they started
};

// Bytes per second over the last few seconds of samples.
class RateMeter {
 public:
  void sample(double now, std::uint64_t bytes);
  double rate() const;  // 0 until two samples a little apart

 private:
  std::vector<std::pair<double, std::uint64_t>> samples_;
};

// "0.4 s", "12 s", "2m05s".
std::string format_duration(double seconds);

// A renderer: a progress::Reporter (events from any thread), the sink of log lines, and a tick
// driven by the display's thread. Every entry point takes the one lock.
class Renderer : public progress::Reporter {
 public:
  explicit Renderer(RendererOptions options);
  void report(const progress::Event& event) final;
  void log_line(log::Level level, std::string_view message);
  void tick();
  // The end: `summary` lines, then the time per stage. Later events are ignored.
  void finish(std::span<const std::string> summary);
  virtual double tick_interval() const = 0;

 protected:
  virtual void on_event(const progress::Event& e, StageState* stage, double now) = 0;
  virtual void on_log(log::Level level, std::string_view message, double now) = 0;
  virtual void on_tick(double /*now*/) {}
  virtual void on_finish(std::span<const std::string> summary, double now) = 0;
  void out(std::string_view text) { options_.sink(text); }

  RendererOptions options_;
  ProgressState state_;

 private:
  std::mutex mutex_;
  bool finished_ = false;
};

std::unique_ptr<Renderer> make_plain_renderer(RendererOptions options);
std::unique_ptr<Renderer> make_json_renderer(RendererOptions options);
std::unique_ptr<Renderer> make_tty_renderer(RendererOptions options);

struct ProgressSettings {
  ProgressMode mode = ProgressMode::Auto;
  bool verbose = false;
};

// The display of one command run: the renderer its mode asks for, the log lines routed through
// it, and a thread that ticks it (heartbeats, redraws). Closed by finish() or the destructor
// (which restores the log and leaves the terminal clean, also on an error).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const ProgressSettings& settings);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  progress::Reporter* reporter() { return renderer_.get(); }  // nullptr with -q
  // Opens and closes a stage of the command itself ("copy", "pull").
  void stage_start(std::string_view stage, std::string_view detail);
  void stage_end(std::string_view stage, std::string_view summary);
  void finish(std::span<const std::string> summary);

 private:
  struct Ticker;
  std::unique_ptr<Renderer> renderer_;
  std::unique_ptr<Ticker> ticker_;
};

}  // namespace de::cli
