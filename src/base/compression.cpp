#include "docker_envs/base/compression.hpp"

namespace de {

Result<Compression> parse_compression(std::string_view text) {
  if (text == "none" || text == "uncompressed") return Compression::None;
  if (text == "gzip") return Compression::Gzip;
  if (text == "zstd") return Compression::Zstd;
  if (text == "bzip2") return Compression::Bzip2;
  return fail(Code::InvalidArgument, "unknown compression '{}' (expected none, gzip or zstd)", text);
}

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::None: return "none";
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    case Compression::Bzip2: return "bzip2";
  }
  return "none";
}

}  // namespace de
