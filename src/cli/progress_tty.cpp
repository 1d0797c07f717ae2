// The live display on a terminal: one region at the bottom of stderr, redrawn in place from the
// display's thread (~10 Hz). Above it scroll the lines that stay: each finished stage collapsed
// to one line (the solve's summary first, as the header of what follows), notes and warnings.
// The region holds a line per running stage (a bar of its tasks, bytes, rate, ETA, time) and a
// line per active task (a bar of its bytes when their total is known), cut to the terminal's
// width and height, which are asked for at every frame.
#include <algorithm>
#include <cmath>

#include "cli/progress.hpp"

namespace de::cli {

namespace {

using progress::Kind;

std::string bar(double fraction, std::size_t width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  auto full = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(width)));
  return "[" + std::string(full, '#') + std::string(width - full, '.') + "]";
}

std::string rate_text(double rate) {
  return rate > 0 ? progress::human_bytes(static_cast<std::uint64_t>(rate)) + "/s" : "";
}

// Cuts `line` to `width` columns (bytes: the lines are ASCII but for names, which are cut whole
// UTF-8 sequences at a time).
std::string fit(std::string line, std::size_t width) {
  if (line.size() <= width) return line;
  std::size_t cut = width > 3 ? width - 3 : width;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  line.resize(cut);
  if (width > 3) line += "...";
  return line;
}

void append(std::string& text, std::string_view part) {
  if (part.empty()) return;
  text += "  ";
  text += part;
}

class TtyRenderer final : public Renderer {
 public:
  using Renderer::Renderer;
  double tick_interval() const override { return 0.1; }

 private:
  void keep(std::string line) { kept_.push_back(std::move(line)); }

  void on_event(const progress::Event& e, StageState* stage, double) override {
    switch (e.kind) {
      case Kind::StageEnd:
        keep(fmt::format("[{}] done in {}{}{}", e.stage,
                         format_duration(stage ? stage->end - stage->start : 0),
                         e.detail.empty() ? "" : ": ", e.detail));
        break;
      case Kind::Note:
        keep(std::string(e.detail));
        break;
      case Kind::Warning:
        keep(fmt::format("warning: {}", e.detail));
        break;
      case Kind::Retry:
        if (options_.verbose)
          keep(fmt::format("[{}] retrying{}{}: {}", e.stage, e.task.empty() ? "" : " ", e.task,
                           e.detail));
        break;
      case Kind::TaskEnd:
        if (options_.verbose && stage)
          keep(fmt::format("[{}] {} {}{}", e.stage, e.detail.empty() ? "done" : e.detail, e.task,
                           e.bytes ? " (" + progress::human_bytes(e.bytes) + ")" : ""));
        break;
      default:
        break;
    }
  }

  void on_log(log::Level level, std::string_view message, double) override {
    switch (level) {
      case log::Level::Debug: keep(fmt::format("debug: {}", message)); break;
      case log::Level::Warn: keep(fmt::format("warning: {}", message)); break;
      case log::Level::Error: keep(fmt::format("error: {}", message)); break;
      default: keep(std::string(message)); break;
    }
  }

  std::string stage_line(const StageState& s, double now, std::size_t width) {
    RateMeter& meter = meters_[s.name];
    meter.sample(now, s.bytes());
    std::string line = "[" + s.name + "]";
    double elapsed = now - s.start;
    if (s.total) {
      double fraction = static_cast<double>(s.done) / static_cast<double>(s.total);
      append(line, bar(fraction, width >= 100 ? 30 : 16));
      append(line, fmt::format("{}/{}", s.done, s.total));
    } else if (s.done) {
      append(line, fmt::format("{} done", s.done));
    } else if (!s.detail.empty()) {
      append(line, s.detail);
    }
    if (std::uint64_t bytes = s.bytes()) append(line, progress::human_bytes(bytes));
    append(line, rate_text(meter.rate()));
    if (s.total && s.done && s.done < s.total)
      append(line, "ETA " + format_duration(elapsed / static_cast<double>(s.done) *
                                           static_cast<double>(s.total - s.done)));
    append(line, format_duration(elapsed));
    return line;
  }

  std::string task_line(const StageState& s, const TaskState& t, double now) {
    RateMeter& meter = task_meters_[s.name + "\n" + t.name];
    meter.sample(now, t.bytes);
    std::string line = "    " + t.name;
    if (t.total) {
      append(line, bar(static_cast<double>(t.bytes) / static_cast<double>(t.total), 10));
      append(line, fmt::format("{} / {}", progress::human_bytes(t.bytes),
                               progress::human_bytes(t.total)));
    } else if (t.bytes) {
      append(line, progress::human_bytes(t.bytes));
    }
    double rate = meter.rate();
    append(line, rate_text(rate));
    if (t.total > t.bytes && rate > 0)
      append(line, "ETA " + format_duration(static_cast<double>(t.total - t.bytes) / rate));
    else
      append(line, format_duration(now - t.start));
    return line;
  }

  // The region's lines: the running stages, each followed by its active tasks while rows last.
  std::vector<std::string> region(double now, std::size_t width, std::size_t rows) {
    std::vector<const StageState*> running;
    for (const auto& s : state_.stages())
      if (s.running()) running.push_back(&s);
    std::vector<std::string> lines;
    std::size_t task_rows = rows > running.size() ? rows - running.size() : 0;
    for (const StageState* s : running) {
      if (lines.size() >= rows) break;
      lines.push_back(stage_line(*s, now, width));
      std::size_t shown = 0;
      for (const auto& t : s->active) {
        bool last_row = task_rows == 1 && s->active.size() - shown > 1;
        if (task_rows == 0 || last_row) break;
        lines.push_back(task_line(*s, t, now));
        --task_rows;
        ++shown;
      }
      if (shown < s->active.size() && task_rows > 0) {
        lines.push_back(fmt::format("    ... and {} more", s->active.size() - shown));
        --task_rows;
      }
    }
    // Rates of tasks no longer shown are forgotten.
    std::erase_if(task_meters_, [&](const auto& m) {
      auto nl = m.first.find('\n');
      std::string_view stage = std::string_view(m.first).substr(0, nl);
      std::string_view task = std::string_view(m.first).substr(nl + 1);
      return std::ranges::none_of(running, [&](const StageState* s) {
        return s->name == stage && std::ranges::any_of(s->active, [&](const TaskState& t) {
                 return t.name == task;
               });
      });
    });
    for (auto& l : lines) l = fit(std::move(l), width);
    return lines;
  }

  // Rows a line of `len` columns takes on a terminal `columns` wide.
  static std::size_t rows_of(std::size_t len, std::size_t columns) {
    return std::max<std::size_t>(1, (len + columns - 1) / columns);
  }

  // Goes back to the region's first row and writes the lines that stay, the summary and the new
  // region over it, each row cleared as it is written ("\x1b[2K" ... "\x1b[K"); rows of the old
  // region left over below are cleared and the cursor returns above them. Nothing clears the
  // screen as a whole (a terminal may push a whole-screen clear into its scrollback). A line
  // drawn at an older, wider width may now take several rows: the rows are counted at the width
  // of this frame.
  void draw(double now, bool final, std::span<const std::string> summary) {
    auto size = options_.size ? options_.size() : std::nullopt;
    std::size_t columns = std::max<std::size_t>(size ? size->columns : 80, 20);
    std::size_t total_rows = size && size->rows ? size->rows : 24;
    // One column short of the edge, so that a full line never wraps or scrolls.
    std::size_t width = columns - 1;
    std::size_t rows = total_rows > 2 ? total_rows - 2 : 1;
    std::vector<std::string> lines;
    if (!final) lines = region(now, width, rows);
    if (kept_.empty() && summary.empty() && lines == shown_ && width == shown_width_) return;
    std::size_t old_rows = 0;
    for (std::size_t len : drawn_) old_rows += rows_of(len, columns);
    std::string frame = "\r";
    if (old_rows) frame += fmt::format("\x1b[{}A", old_rows);
    std::size_t written = 0;
    auto put = [&](const std::string& line) {
      frame += "\x1b[2K" + line + "\x1b[K\n";
      written += rows_of(line.size(), columns);
    };
    for (const auto& l : kept_) put(fit(l, l.starts_with("[") ? width : l.size()));
    kept_.clear();
    for (const auto& l : summary) put(l);
    drawn_.clear();
    for (const auto& l : lines) {
      put(l);
      drawn_.push_back(l.size());
    }
    if (old_rows > written) {
      std::size_t left = old_rows - written;
      frame += "\x1b[2K";
      for (std::size_t i = 1; i < left; ++i) frame += "\x1b[B\x1b[2K";
      if (left > 1) frame += fmt::format("\x1b[{}A", left - 1);
    }
    shown_ = std::move(lines);
    shown_width_ = width;
    out(frame);
  }

  void on_tick(double now) override { draw(now, false, {}); }

  void on_finish(std::span<const std::string> summary, double now) override {
    std::vector<std::string> lines(summary.begin(), summary.end());
    if (!summary.empty())
      if (auto t = state_.timings(); !t.empty()) lines.push_back("time: " + t);
    shown_.clear();
    shown_width_ = 0;  // forces the last frame
    draw(now, true, lines);
  }

  std::vector<std::string> kept_;   // lines that stay, printed above the region at the next frame
  std::vector<std::string> shown_;  // the region as last drawn
  std::vector<std::size_t> drawn_;  // the length of each of its lines
  std::size_t shown_width_ = 0;
  std::map<std::string, RateMeter> meters_, task_meters_;
};

}  // namespace

std::unique_ptr<Renderer> make_tty_renderer(RendererOptions options) {
  return std::make_unique<TtyRenderer>(std::move(options));
}

}  // namespace de::cli
