// The pure parts of `docker-envs cache`: kind names, SIZE and DURATION parsing, and which entries a
// prune removes in which order.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "docker_envs/build/cache.hpp"

namespace de::build {

std::string_view cache_kind_name(CacheKind kind) {
  switch (kind) {
    case CacheKind::Packages:
      return "packages";
    case CacheKind::Extracted:
      return "extracted";
    case CacheKind::Wheels:
      return "wheels";
    case CacheKind::Layers:
      return "layers";
    case CacheKind::Plans:
      return "plans";
    case CacheKind::Images:
      return "images";
    case CacheKind::Repodata:
      return "repodata";
    case CacheKind::Solver:
      return "solver";
    case CacheKind::Blobs:
      return "blobs";
    case CacheKind::Builds:
      return "builds";
  }
  return "?";
}

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A leading non-negative decimal number ("1", "1.5"); the rest of `text` is left in it.
std::optional<double> take_number(std::string_view& text) {
  size_t n = 0;
  while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.'))
    ++n;
  if (n == 0) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec != std::errc() || end != text.data() + n || !std::isfinite(value)) return std::nullopt;
  text.remove_prefix(n);
  return value;
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return fail(Code::InvalidArgument,
                "'{}' is not a size: a number with an optional unit, e.g. 10G, 500MiB, 1.5GB "
                "(K, M, G, T and KiB, MiB, GiB, TiB count in 1024s; KB, MB, GB, TB in 1000s; "
                "no unit or B: bytes)",
                text);
  };
  std::string_view rest = text;
  auto number = take_number(rest);
  if (!number) return bad();
  struct Unit {
    std::string_view name;
    double factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},     {"b", 1},         {"k", 0x1p10},     {"kib", 0x1p10}, {"kb", 1e3},
      {"m", 0x1p20}, {"mib", 0x1p20}, {"mb", 1e6},      {"g", 0x1p30},   {"gib", 0x1p30},
      {"gb", 1e9},  {"t", 0x1p40},   {"tib", 0x1p40},  {"tb", 1e12}};
  std::string unit = lower(rest);
  for (const auto& u : kUnits) {
    if (unit != u.name) continue;
    double bytes = *number * u.factor;
    if (bytes >= 0x1p63) return fail(Code::InvalidArgument, "size '{}' is too large", text);
    return static_cast<std::uint64_t>(std::llround(bytes));
  }
  return bad();
}

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return fail(Code::InvalidArgument,
                "'{}' is not a duration: a number with a unit (s, m, h, d, w), e.g. 7d, 12h, "
                "30m, or a sum such as 1d12h",
                text);
  };
  std::string_view rest = text;
  double seconds = 0;
  if (rest.empty()) return bad();
  while (!rest.empty()) {
    auto number = take_number(rest);
    if (!number || rest.empty()) return bad();
    double factor = 0;
    switch (std::tolower(static_cast<unsigned char>(rest.front()))) {
      case 's':
        factor = 1;
        break;
      case 'm':
        factor = 60;
        break;
      case 'h':
        factor = 3600;
        break;
      case 'd':
        factor = 86400;
        break;
      case 'w':
        factor = 7 * 86400;
        break;
      default:
        return bad();
    }
    rest.remove_prefix(1);
    seconds += *number * factor;
  }
  if (seconds >= 1e15) return fail(Code::InvalidArgument, "duration '{}' is too long", text);
  return std::chrono::seconds(static_cast<std::int64_t>(std::llround(seconds)));
}

void select_for_prune(std::span<const CacheEntry> entries, const PruneOptions& options,
                      CacheClock::time_point now,
                      const std::function<bool(const CacheEntry&)>& remove) {
  std::vector<const CacheEntry*> order;
  std::uint64_t total = 0;
  for (const auto& e : entries) {
    order.push_back(&e);
    total += e.bytes;
  }
  // Least recently used first; ties in a fixed order (kind, then name).
  std::sort(order.begin(), order.end(), [](const CacheEntry* a, const CacheEntry* b) {
    if (a->last_use != b->last_use) return a->last_use < b->last_use;
    if (a->kind != b->kind) return a->kind < b->kind;
    return a->name < b->name;
  });
  for (const CacheEntry* e : order) {
    bool old = options.older_than && e->last_use < now - *options.older_than;
    bool too_big = options.max_size && total > *options.max_size;
    if (!options.all && !old && !too_big) continue;
    if (remove(*e)) total -= e->bytes;
  }
}

}  // namespace de::build
