#include "docker_envs/base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace de::log {
namespace {
std::atomic<Level> g_level{Level::Warn};
std::mutex g_sink_mutex;
std::shared_ptr<const Sink> g_sink;  // guarded by g_sink_mutex
}  // namespace

void set_level(Level l) { g_level.store(l); }
Level level() { return g_level.load(); }

void set_sink(Sink sink) {
  auto next = sink ? std::make_shared<const Sink>(std::move(sink)) : nullptr;
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(next);
}

void write(Level l, std::string_view message) {
  if (l < g_level.load() || l == Level::Quiet) return;
  std::shared_ptr<const Sink> sink;
  {
    std::lock_guard lock(g_sink_mutex);
    sink = g_sink;
  }
  if (sink) {
    (*sink)(l, message);
    return;
  }
  std::string line;
  switch (l) {
    case Level::Debug: line = "debug: "; break;
    case Level::Info: break;
    case Level::Warn: line = "warning: "; break;
    case Level::Error: line = "error: "; break;
    case Level::Quiet: return;
  }
  line.append(message);
  line.push_back('\n');
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

}  // namespace de::log
