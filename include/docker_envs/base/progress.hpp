// The one home of progress events: the library says what it is doing (stages, the tasks of a
// stage and their bytes, retries, notes) to a Reporter; a front end decides how to show it (the
// CLI's renderers: a live region on a terminal, plain lines, JSON lines, nothing). The library has
// no terminal code and no clock of its own for progress: timing is the reporter's business.
//
// Cheap when nobody listens: reporters are passed as a nullable pointer and progress::emit() does
// nothing for nullptr; an Event holds string_views only (no allocation to build one).
//
// The events of one stage:
//   StageStart  stage, total = number of tasks when known (0: unknown), detail = what it does
//   TaskStart   stage, task, total = expected bytes (0: unknown)             (optional)
//   TaskProgress stage, task, bytes = done so far, total = expected bytes
//   TaskEnd     stage, task, bytes = bytes moved or produced, detail = the outcome
//               ("downloaded", "cached", "local", "built", "reused", "uploaded", ...)
//   Retry       stage, task, detail = what failed and when it is tried again
//   Note        stage, detail = a line worth showing ("base image scratch for linux-64")
//   Warning     stage, detail = something the user should know (the CLI also sends log warnings)
//   StageEnd    stage, detail = its summary ("94 packages for linux-64 from 2 channels")
// A task may end without having started (a cached package: nothing to watch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace de::progress {

enum class Kind { StageStart, StageEnd, TaskStart, TaskProgress, TaskEnd, Retry, Note, Warning };

struct Event {
  Kind kind = Kind::Note;
  std::string_view stage;   // "solve", "fetch", "plan", "layers", "write", "push", "pull", ...
  std::string_view task;    // a file name, a layer label, a blob id
  std::string_view detail;  // see above
  std::uint64_t bytes = 0;
  std::uint64_t total = 0;
};

// Called from any thread, possibly concurrently: an implementation serialises what it needs.
// report() must not throw and should return quickly (no I/O that can block for long).
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void report(const Event& event) = 0;
};

inline void emit(Reporter* reporter, const Event& event) {
  if (reporter) reporter->report(event);
}

// "stage_start", "task_end", ...: the names the JSON renderer uses.
std::string_view kind_name(Kind kind);

// "512 B", "4.0 KiB", "12.3 MiB", "1.1 GiB": sizes in summaries.
std::string human_bytes(std::uint64_t n);

}  // namespace de::progress
