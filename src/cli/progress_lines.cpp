// The line renderers: plain (lines for people reading a CI log) and json (lines for tools).
#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/progress.hpp"

namespace de::cli {

namespace {

using progress::Kind;

std::string log_text(log::Level level, std::string_view message) {
  switch (level) {
    case log::Level::Debug: return fmt::format("debug: {}\n", message);
    case log::Level::Warn: return fmt::format("warning: {}\n", message);
    case log::Level::Error: return fmt::format("error: {}\n", message);
    default: return fmt::format("{}\n", message);
  }
}

class PlainRenderer final : public Renderer {
 public:
  using Renderer::Renderer;
  double tick_interval() const override { return 0.5; }

 private:
  void line(const std::string& stage, std::string text, double now) {
    text.push_back('\n');
    out(text);
    if (!stage.empty()) last_line_[stage] = now;
  }

  void on_event(const progress::Event& e, StageState* stage, double now) override {
    std::string name(e.stage);
    switch (e.kind) {
      case Kind::StageStart:
        meters_.erase(name);
        line(name, fmt::format("[{}] {}", name, e.detail.empty() ? "started" : e.detail), now);
        break;
      case Kind::StageEnd: {
        double took = stage ? stage->end - stage->start : 0;
        line(name,
             fmt::format("[{}] done in {}{}{}", name, format_duration(took),
                         e.detail.empty() ? "" : ": ", e.detail),
             now);
        break;
      }
      case Kind::TaskEnd:
        if (options_.verbose && stage) {
          std::string count = stage->total ? fmt::format("{}/{}", stage->done, stage->total)
                                           : std::to_string(stage->done);
          line(name,
               fmt::format("[{}] ({}) {} {}{}", name, count, e.detail.empty() ? "done" : e.detail,
                           e.task, e.bytes ? " (" + progress::human_bytes(e.bytes) + ")" : ""),
               now);
        }
        break;
      case Kind::Retry:
        if (options_.verbose)
          line(name,
               fmt::format("[{}] retrying{}{}: {}", name, e.task.empty() ? "" : " ", e.task,
                           e.detail),
               now);
        break;
      case Kind::Note:
        line(name, std::string(e.detail), now);
        break;
      case Kind::Warning:
        line(name, fmt::format("warning: {}", e.detail), now);
        break;
      case Kind::TaskStart:
      case Kind::TaskProgress:
        break;
    }
  }

  void on_log(log::Level level, std::string_view message, double) override {
    out(log_text(level, message));
  }

  // A heartbeat for each stage that has run long and said nothing for a while.
  void on_tick(double now) override {
    const double every = options_.heartbeat;
    for (const auto& s : state_.stages()) {
      if (!s.running()) continue;
      RateMeter& meter = meters_[s.name];
      meter.sample(now, s.bytes());
      auto last = last_line_.find(s.name);
      double quiet_since = last == last_line_.end() ? s.start : last->second;
      if (now - s.start < every || now - quiet_since < every) continue;
      std::string text = fmt::format("[{}] ", s.name);
      if (s.total)
        text += fmt::format("{}/{} done", s.done, s.total);
      else
        text += fmt::format("{} done", s.done);
      if (std::uint64_t bytes = s.bytes()) {
        text += ", " + progress::human_bytes(bytes);
        if (double rate = meter.rate(); rate > 0)
          text += ", " + progress::human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
      }
      if (!s.active.empty()) text += fmt::format(", {} in progress", s.active.size());
      text += ", " + format_duration(now - s.start);
      line(s.name, std::move(text), now);
    }
  }

  // Nothing after an error (no summary): the error line follows.
  void on_finish(std::span<const std::string> summary, double) override {
    if (summary.empty()) return;
    std::string text;
    for (const auto& l : summary) text += l + "\n";
    if (auto t = state_.timings(); !t.empty()) text += "time: " + t + "\n";
    out(text);
  }

  std::map<std::string, double> last_line_;  // stage -> when it last printed a line
  std::map<std::string, RateMeter> meters_;
};

class JsonRenderer final : public Renderer {
 public:
  explicit JsonRenderer(RendererOptions options)
      : Renderer(std::move(options)), start_(options_.clock()) {}
  double tick_interval() const override { return 1.0; }

 private:
  double since_start(double now) const { return std::round((now - start_) * 1000) / 1000; }

  void write(nlohmann::json j, double now) {
    j["time"] = since_start(now);
    out(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }

  void on_event(const progress::Event& e, StageState*, double now) override {
    std::string key = fmt::format("{}\n{}", e.stage, e.task);
    if (e.kind == Kind::TaskProgress) {
      // At most a few lines a second per task: a progress line per 64 KiB is noise.
      auto [it, fresh] = last_progress_.try_emplace(key, now);
      if (!fresh && now - it->second < 0.25) return;
      it->second = now;
    } else if (e.kind == Kind::TaskEnd) {
      last_progress_.erase(key);
    }
    write({{"event", progress::kind_name(e.kind)},
           {"stage", e.stage},
           {"task", e.task},
           {"detail", e.detail},
           {"bytes", e.bytes},
           {"total", e.total}},
          now);
  }

  void on_log(log::Level level, std::string_view message, double now) override {
    std::string_view event = level == log::Level::Warn    ? "warning"
                             : level == log::Level::Error ? "error"
                             : level == log::Level::Debug ? "debug"
                                                          : "note";
    write({{"event", event}, {"detail", message}}, now);
  }

  void on_finish(std::span<const std::string> summary, double now) override {
    if (summary.empty()) return;
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : state_.stages())
      if (!s.running())
        stages.push_back({{"stage", s.name},
                          {"seconds", std::round((s.end - s.start) * 1000) / 1000},
                          {"summary", s.summary}});
    write({{"event", "summary"},
           {"lines", std::vector<std::string>(summary.begin(), summary.end())},
           {"stages", stages}},
          now);
  }

  double start_;
  std::map<std::string, double> last_progress_;  // stage + task -> its last progress line
};

}  // namespace

std::unique_ptr<Renderer> make_plain_renderer(RendererOptions options) {
  return std::make_unique<PlainRenderer>(std::move(options));
}

std::unique_ptr<Renderer> make_json_renderer(RendererOptions options) {
  return std::make_unique<JsonRenderer>(std::move(options));
}

}  // namespace de::cli
