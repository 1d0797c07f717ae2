// ProgressDisplay: picks the renderer for the mode, routes the log through it and ticks it from
// one thread.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <string>

#include "cli/progress.hpp"
#include "docker_envs/base/parallel.hpp"

namespace de::cli {

namespace {

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void to_stderr(std::string_view text) { (void)write_all(2, text, "standard error"); }

bool dumb_terminal() {
  const char* term = std::getenv("TERM");
  return !term || !*term || std::string_view(term) == "dumb";
}

}  // namespace

// Calls renderer.tick() every tick_interval() until destroyed.
struct ProgressDisplay::Ticker {
  explicit Ticker(Renderer& renderer)
      : thread([this, &renderer] {
          auto every = std::chrono::duration<double>(renderer.tick_interval());
          std::unique_lock lock(mutex);
          while (!stop) {
            if (wake.wait_for(lock, every, [this] { return stop; })) break;
            lock.unlock();
            renderer.tick();
            lock.lock();
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    wake.notify_all();
    thread.join();
  }
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  Thread thread;  // last: started once the members above exist
};

ProgressDisplay::ProgressDisplay(const ProgressSettings& settings) {
  ProgressMode mode = settings.mode;
  if (mode == ProgressMode::Quiet) return;
  if (mode == ProgressMode::Auto)
    mode = is_terminal(2) && !dumb_terminal() ? ProgressMode::Tty : ProgressMode::Plain;
  RendererOptions options{.clock = steady_seconds,
                          .sink = to_stderr,
                          .verbose = settings.verbose,
                          .size = [] { return terminal_size(2); }};
  switch (mode) {
    case ProgressMode::Tty: renderer_ = make_tty_renderer(std::move(options)); break;
    case ProgressMode::Json: renderer_ = make_json_renderer(std::move(options)); break;
    default: renderer_ = make_plain_renderer(std::move(options)); break;
  }
  Renderer* renderer = renderer_.get();
  log::set_sink([renderer](log::Level level, std::string_view message) {
    renderer->log_line(level, message);
  });
  ticker_ = std::make_unique<Ticker>(*renderer_);
}

ProgressDisplay::~ProgressDisplay() {
  if (!renderer_) return;
  ticker_.reset();
  // An error ends the command without finish(): the region is closed before the error is printed.
  renderer_->finish({});
  log::set_sink({});
}

void ProgressDisplay::stage_start(std::string_view stage, std::string_view detail) {
  progress::emit(reporter(), {.kind = progress::Kind::StageStart, .stage = stage, .detail = detail});
}

void ProgressDisplay::stage_end(std::string_view stage, std::string_view summary) {
  progress::emit(reporter(), {.kind = progress::Kind::StageEnd, .stage = stage, .detail = summary});
}

void ProgressDisplay::finish(std::span<const std::string> summary) {
  if (!renderer_) return;
  ticker_.reset();
  renderer_->finish(summary);
}

}  // namespace de::cli
