// Logging to stderr. The CLI sets the level once at start-up; library code only calls the
// functions. Thread-safe: each message is written with a single write call, or handed to the sink
// the CLI installed (its progress display, so that log lines and redrawn progress never mix).
#pragma once

#include <functional>
#include <string_view>

#include <fmt/format.h>

namespace de::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Quiet = 4 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

// Where messages that pass the level go instead of stderr (the message without its "warning: "
// prefix); an empty function restores stderr. Called from any thread.
using Sink = std::function<void(Level, std::string_view)>;
void set_sink(Sink sink);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::Debug) write(Level::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::Info) write(Level::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::Warn) write(Level::Warn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace de::log
