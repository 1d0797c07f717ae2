#include "docker_envs/base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace de::log {
namespace {
std::atomic<Level> g_level{Level::Warn};
}

void set_level(Level l) { g_level.store(l); }
Level level() { return g_level.load(); }

void write(Level l, std::string_view message) {
  if (l < g_level.load()) return;
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
