// Whole numbers read from the build module's JSON documents (private to the build module): the
// local caches' entries, the build record, a shared cache's index.
//
// nlohmann::json's get<> of an integer type converts a floating-point value with a cast that is
// undefined when the value is out of range (1e300 as a size), and a negative or fractional one
// into something else silently. Damaged or hostile documents are read through this instead.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>

namespace de::build::detail {

// `v` when it is a whole number from 0 to `max`, written without a fraction or exponent; nullopt
// for anything else (a float, a negative number, a string, null).
inline std::optional<std::uint64_t> whole_number(
    const nlohmann::json& v, std::uint64_t max = std::numeric_limits<std::int64_t>::max()) {
  if (!v.is_number_unsigned()) return std::nullopt;
  auto n = v.get<std::uint64_t>();
  if (n > max) return std::nullopt;
  return n;
}

}  // namespace de::build::detail
