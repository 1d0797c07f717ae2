// The progress renderers (src/cli/progress*.cpp) driven with a fake clock and a string sink.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/progress.hpp"

namespace de::cli {
namespace {

using progress::Event;
using progress::Kind;

struct Fake {
  double now = 0;
  std::string text;
  std::mutex mutex;
  RendererOptions options(bool verbose = false, unsigned columns = 80, unsigned rows = 24) {
    return {.clock = [this] { return now; },
            .sink =
                [this](std::string_view s) {
                  std::lock_guard lock(mutex);
                  text += s;
                },
            .verbose = verbose,
            .heartbeat = 5.0,
            .size = [columns, rows] { return TerminalSize{columns, rows}; }};
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
      out.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  }
  std::string take() { return std::exchange(text, {}); }
};

TEST(ProgressPlain, StageLinesAndNoTaskLinesUnlessVerbose) {
  Fake fake;
  auto r = make_plain_renderer(fake.options());
  r->report({.kind = Kind::StageStart, .stage = "fetch", .detail = "3 package(s)", .total = 3});
  for (int i = 0; i < 3; ++i) {
    std::string name = fmt::format("p{}.conda", i);
    r->report({.kind = Kind::TaskStart, .stage = "fetch", .task = name, .total = 100});
    r->report({.kind = Kind::TaskProgress, .stage = "fetch", .task = name, .bytes = 50});
    r->report({.kind = Kind::TaskEnd, .stage = "fetch", .task = name, .detail = "downloaded",
               .bytes = 100});
  }
  fake.now = 1.5;
  r->report({.kind = Kind::Retry, .stage = "fetch", .task = "p1.conda", .detail = "HTTP 503"});
  r->report({.kind = Kind::StageEnd, .stage = "fetch", .detail = "3 package(s): 3 downloaded"});
  EXPECT_EQ(fake.lines(), (std::vector<std::string>{
                              "[fetch] 3 package(s)",
                              "[fetch] done in 1.5 s: 3 package(s): 3 downloaded",
                          }));
}

TEST(ProgressPlain, VerboseTaskLinesCountInTheOrderShown) {
  Fake fake;
  auto r = make_plain_renderer(fake.options(/*verbose=*/true));
  r->report({.kind = Kind::StageStart, .stage = "layers", .detail = "3 layer(s)", .total = 3});
  // Layers finish out of their index order (reused first, then as the builders finish).
  for (std::string_view name : {"c-1.0-0", "a-1.0-0", "b-1.0-0"})
    r->report({.kind = Kind::TaskEnd, .stage = "layers", .task = name, .detail = "built",
               .bytes = 2048});
  r->report({.kind = Kind::Retry, .stage = "layers", .task = "x", .detail = "HTTP 503, again in 1 s"});
  EXPECT_EQ(fake.lines(), (std::vector<std::string>{
                              "[layers] 3 layer(s)",
                              "[layers] (1/3) built c-1.0-0 (2.0 KiB)",
                              "[layers] (2/3) built a-1.0-0 (2.0 KiB)",
                              "[layers] (3/3) built b-1.0-0 (2.0 KiB)",
                              "[layers] retrying x: HTTP 503, again in 1 s",
                          }));
}

TEST(ProgressPlain, HeartbeatWhileAStageRunsLong) {
  Fake fake;
  auto r = make_plain_renderer(fake.options());
  r->report({.kind = Kind::StageStart, .stage = "fetch", .detail = "94 package(s)", .total = 94});
  r->report({.kind = Kind::TaskStart, .stage = "fetch", .task = "big.conda", .total = 100 << 20});
  for (int t = 1; t <= 4; ++t) {
    fake.now = t;
    r->report({.kind = Kind::TaskProgress, .stage = "fetch", .task = "big.conda",
               .bytes = static_cast<std::uint64_t>(t) << 20});
    r->tick();
  }
  EXPECT_EQ(fake.lines().size(), 1u) << fake.text;  // nothing in the first 5 s
  fake.now = 5;
  r->report({.kind = Kind::TaskProgress, .stage = "fetch", .task = "big.conda", .bytes = 5 << 20});
  r->tick();
  ASSERT_EQ(fake.lines().size(), 2u) << fake.text;
  EXPECT_EQ(fake.lines()[1], "[fetch] 0/94 done, 5.0 MiB, 1.0 MiB/s, 1 in progress, 5.0 s");
  fake.now = 7;
  r->tick();
  EXPECT_EQ(fake.lines().size(), 2u) << "a heartbeat every 5 s, not every tick";
  fake.now = 10;
  r->report({.kind = Kind::TaskEnd, .stage = "fetch", .task = "small.conda", .detail = "cached"});
  r->tick();
  ASSERT_EQ(fake.lines().size(), 3u) << fake.text;
  // The rate over the last 5 s (and the sample before): 1 MiB in 6 s.
  EXPECT_EQ(fake.lines()[2], "[fetch] 1/94 done, 5.0 MiB, 170.7 KiB/s, 1 in progress, 10 s");
  r->report({.kind = Kind::StageEnd, .stage = "fetch"});
  fake.now = 30;
  r->tick();
  EXPECT_EQ(fake.lines().size(), 4u) << "no heartbeat after the stage ended";
}

TEST(ProgressPlain, LogLinesAndSummary) {
  Fake fake;
  auto r = make_plain_renderer(fake.options());
  r->report({.kind = Kind::StageStart, .stage = "solve", .detail = "1 spec(s)"});
  fake.now = 0.4;
  r->report({.kind = Kind::StageEnd, .stage = "solve", .detail = "3 package(s) for linux-64"});
  r->log_line(log::Level::Warn, "something odd");
  r->log_line(log::Level::Info, "a note");
  r->report({.kind = Kind::Note, .stage = "base", .detail = "base image scratch for linux-64"});
  std::vector<std::string> summary{"wrote x.tar"};
  r->finish(summary);
  r->report({.kind = Kind::StageStart, .stage = "late"});  // ignored after the end
  EXPECT_EQ(fake.lines(), (std::vector<std::string>{
                              "[solve] 1 spec(s)",
                              "[solve] done in 0.4 s: 3 package(s) for linux-64",
                              "warning: something odd",
                              "a note",
                              "base image scratch for linux-64",
                              "wrote x.tar",
                              "time: solve 0.4 s",
                          }));
}

TEST(ProgressJson, EveryLineIsOneJsonEvent) {
  Fake fake;
  auto r = make_json_renderer(fake.options());
  r->report({.kind = Kind::StageStart, .stage = "fetch", .detail = "a \"quoted\"\nname", .total = 2});
  r->report({.kind = Kind::TaskStart, .stage = "fetch", .task = "p.conda", .total = 1000});
  for (int i = 1; i <= 10; ++i) {
    fake.now = i * 0.05;  // 20 per second: thinned to a few
    r->report({.kind = Kind::TaskProgress, .stage = "fetch", .task = "p.conda",
               .bytes = static_cast<std::uint64_t>(i) * 100, .total = 1000});
  }
  r->report({.kind = Kind::TaskEnd, .stage = "fetch", .task = "p.conda", .detail = "downloaded",
             .bytes = 1000});
  r->log_line(log::Level::Warn, "careful");
  fake.now = 1.25;
  r->report({.kind = Kind::StageEnd, .stage = "fetch", .detail = "2 package(s)"});
  std::vector<std::string> summary{"wrote x"};
  r->finish(summary);
  std::vector<nlohmann::json> events;
  for (const auto& line : fake.lines()) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    events.push_back(nlohmann::json::parse(line));
  }
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[0]["event"], "stage_start");
  EXPECT_EQ(events[0]["stage"], "fetch");
  EXPECT_EQ(events[0]["detail"], "a \"quoted\"\nname");
  EXPECT_EQ(events[0]["total"], 2);
  EXPECT_EQ(events[0]["time"], 0.0);
  std::size_t progress = 0;
  for (const auto& e : events) progress += e["event"] == "task_progress";
  EXPECT_GE(progress, 2u);
  EXPECT_LE(progress, 3u);
  auto end = std::ranges::find_if(events, [](const auto& e) { return e["event"] == "task_end"; });
  ASSERT_NE(end, events.end());
  EXPECT_EQ((*end)["bytes"], 1000);
  EXPECT_EQ((*end)["detail"], "downloaded");
  EXPECT_EQ(events[events.size() - 3]["event"], "warning");
  EXPECT_EQ(events[events.size() - 2]["event"], "stage_end");
  EXPECT_EQ(events[events.size() - 2]["time"], 1.25);
  EXPECT_EQ(events.back()["event"], "summary");
  EXPECT_EQ(events.back()["stages"][0]["seconds"], 1.25);
}

TEST(ProgressJson, LinesFromManyThreadsNeverInterleave) {
  Fake fake;
  auto r = make_json_renderer(fake.options());
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string task = fmt::format("t{}-{}", t, i);
        r->report({.kind = Kind::TaskEnd, .stage = "fetch", .task = task, .detail = "cached"});
      }
    });
  threads.clear();
  auto lines = fake.lines();
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& line : lines) ASSERT_TRUE(nlohmann::json::accept(line)) << line;
}

// The terminal's text without escape sequences, as lines.
std::vector<std::string> visible(const std::string& text) {
  std::string plain = std::regex_replace(text, std::regex("\x1b\\[[0-9;?]*[A-Za-z]|\r"), "");
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl = plain.find('\n'); nl != std::string::npos; nl = plain.find('\n', start)) {
    out.push_back(plain.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

TEST(ProgressTty, RegionRedrawnInPlaceWithinTheWidth) {
  Fake fake;
  auto r = make_tty_renderer(fake.options(false, 40, 10));
  r->report({.kind = Kind::StageStart, .stage = "solve", .detail = "1 spec(s)"});
  fake.now = 0.5;
  r->report({.kind = Kind::StageEnd, .stage = "solve", .detail = "3 package(s) for linux-64"});
  r->report({.kind = Kind::StageStart, .stage = "fetch", .total = 3});
  r->report({.kind = Kind::TaskStart, .stage = "fetch",
             .task = "a-package-with-a-very-long-name-1.0-0.conda", .total = 1 << 20});
  r->report({.kind = Kind::TaskProgress, .stage = "fetch",
             .task = "a-package-with-a-very-long-name-1.0-0.conda", .bytes = 1 << 19});
  fake.now = 1.0;
  r->tick();
  std::string first = fake.take();
  auto lines = visible(first);
  ASSERT_EQ(lines.size(), 3u) << first;
  EXPECT_EQ(lines[0], "[solve] done in 0.5 s: 3 package(s) ...");
  EXPECT_TRUE(lines[1].starts_with("[fetch]  [................]  0/3")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("    a-package-with-a-very-long-name")) << lines[2];
  for (const auto& l : lines) EXPECT_LE(l.size(), 39u) << l;
  EXPECT_TRUE(first.starts_with("\r\x1b[2K[solve]")) << "nothing to move over yet: " << first;

  // The next frame goes back over the two region lines and clears them.
  fake.now = 1.1;
  r->report({.kind = Kind::TaskEnd, .stage = "fetch",
             .task = "a-package-with-a-very-long-name-1.0-0.conda", .detail = "downloaded",
             .bytes = 1 << 20});
  r->tick();
  std::string second = fake.take();
  EXPECT_TRUE(second.starts_with("\r\x1b[2A\x1b[2K[fetch]")) << second;
  EXPECT_TRUE(second.ends_with("\n\x1b[2K")) << "the task's row is cleared: " << second;
  EXPECT_EQ(visible(second).size(), 1u) << second;  // the task is gone: just the stage
  EXPECT_NE(second.find("1/3"), std::string::npos) << second;

  // Nothing changed: nothing drawn.
  r->tick();
  EXPECT_EQ(fake.take(), "");

  fake.now = 2.0;
  r->report({.kind = Kind::StageEnd, .stage = "fetch", .detail = "3 package(s)"});
  r->log_line(log::Level::Warn, "a warning is kept whole however long it is, never cut");
  std::vector<std::string> summary{"wrote x.tar"};
  r->finish(summary);
  std::string last = fake.take();
  EXPECT_TRUE(last.starts_with("\r\x1b[1A\x1b[2K")) << last;
  EXPECT_EQ(visible(last), (std::vector<std::string>{
                               "[fetch] done in 1.5 s: 3 package(s)",
                               "warning: a warning is kept whole however long it is, never cut",
                               "wrote x.tar",
                               "time: solve 0.5 s, fetch 1.5 s",
                           }));
}

TEST(ProgressTty, ManyTasksFitTheHeight) {
  Fake fake;
  auto r = make_tty_renderer(fake.options(false, 200, 8));
  r->report({.kind = Kind::StageStart, .stage = "layers", .total = 31});
  for (int i = 0; i < 12; ++i)
    r->report({.kind = Kind::TaskStart, .stage = "layers", .task = fmt::format("layer-{}", i)});
  r->tick();
  auto lines = visible(fake.take());
  ASSERT_EQ(lines.size(), 6u);  // 8 rows, two kept free
  EXPECT_TRUE(lines[0].starts_with("[layers]"));
  EXPECT_EQ(lines[5], "    ... and 8 more");
}

TEST(ProgressTty, ANarrowerTerminalIsErasedByItsRows) {
  Fake fake;
  unsigned columns = 100;
  auto options = fake.options(false, 100, 24);
  options.size = [&columns] { return TerminalSize{columns, 24}; };
  auto r = make_tty_renderer(options);
  r->report({.kind = Kind::StageStart, .stage = "write", .detail = std::string(200, 'x')});
  r->tick();
  auto lines = visible(fake.take());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].size(), 99u);
  columns = 40;  // the 99 columns drawn now take 3 rows
  fake.now = 1;
  r->tick();
  std::string frame = fake.take();
  EXPECT_TRUE(frame.starts_with("\r\x1b[3A\x1b[2K")) << frame;
  EXPECT_TRUE(frame.ends_with("\x1b[2K\x1b[B\x1b[2K\x1b[1A")) << "two rows left over: " << frame;
  EXPECT_EQ(visible(frame)[0].size(), 39u);
}

TEST(ProgressState, CountsOutcomesAndTasksThatNeverStarted) {
  ProgressState state;
  state.apply({.kind = Kind::StageStart, .stage = "fetch", .total = 3}, 0);
  state.apply({.kind = Kind::TaskEnd, .stage = "fetch", .task = "a", .detail = "local"}, 1);
  state.apply({.kind = Kind::TaskStart, .stage = "fetch", .task = "b"}, 1);
  state.apply({.kind = Kind::TaskProgress, .stage = "fetch", .task = "b", .bytes = 10}, 1);
  EXPECT_EQ(state.stages()[0].bytes(), 10u);
  state.apply({.kind = Kind::TaskEnd, .stage = "fetch", .task = "b", .detail = "downloaded",
               .bytes = 20}, 2);
  state.apply({.kind = Kind::TaskEnd, .stage = "fetch", .task = "c", .detail = "local"}, 2);
  EXPECT_EQ(state.apply({.kind = Kind::Note, .stage = "nowhere", .detail = "x"}, 2), nullptr);
  const auto& s = state.stages()[0];
  EXPECT_EQ(s.done, 3u);
  EXPECT_TRUE(s.active.empty());
  EXPECT_EQ(s.bytes(), 20u);
  EXPECT_EQ(s.outcomes, (std::vector<std::pair<std::string, std::size_t>>{{"local", 2},
                                                                        {"downloaded", 1}}));
  EXPECT_EQ(state.stages().size(), 1u);
}

TEST(ProgressMode, Names) {
  EXPECT_EQ(parse_progress_mode("plain").value(), ProgressMode::Plain);
  EXPECT_EQ(parse_progress_mode("json").value(), ProgressMode::Json);
  EXPECT_FALSE(parse_progress_mode("fancy"));
  EXPECT_EQ(format_duration(0.44), "0.4 s");
  EXPECT_EQ(format_duration(125), "2m05s");
}

}  // namespace
}  // namespace de::cli
