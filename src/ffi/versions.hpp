// Private: the versions of the libraries docker-envs links, for `docker-envs version`. Each library
// is asked at run time where it has an API for it (libcurl, OpenSSL, zstd, libarchive, libsolv);
// the others (ISA-L, simdjson, yaml-cpp, fmt, nlohmann-json) report the version they were compiled
// against. Returned as plain strings, so no C type leaves this layer.
#pragma once

#include <string>
#include <vector>

namespace de::ffi {

struct LibraryVersion {
  std::string name;     // "libcurl"
  std::string version;  // "7.88.1"
  // The version of the headers compiled against, when the run-time library reports another one
  // ("" when they agree, or when only the compile-time version is known).
  std::string built_with;
  bool runtime = false;  // asked of the loaded library (false: the compile-time version)
  std::string detail;    // anything else worth a word ("OpenSSL/3.0.19" for libcurl's TLS)
};

// In a fixed order: libsolv, libcurl, OpenSSL, zstd, ISA-L, libarchive, yaml-cpp, simdjson, fmt,
// nlohmann-json.
std::vector<LibraryVersion> library_versions();

}  // namespace de::ffi
