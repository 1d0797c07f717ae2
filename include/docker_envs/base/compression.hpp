// Compression formats that streams (layers, packages) come in. The codecs themselves live in the
// private ffi module; this header only names them.
#pragma once

#include <string>
#include <string_view>

#include "docker_envs/base/error.hpp"

namespace de {

enum class Compression { None, Gzip, Zstd, Bzip2 };

// "none" | "gzip" | "zstd" | "bzip2" ("uncompressed" is accepted for none).
Result<Compression> parse_compression(std::string_view text);
std::string_view to_string(Compression c);

}  // namespace de
