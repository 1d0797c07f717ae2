#include "ffi/versions.hpp"

#include <archive.h>
#include <curl/curl.h>
#include <isa-l.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <zstd.h>
extern "C" {
#include <solv/solvversion.h>  // no C++ guard of its own
}

#include <fmt/core.h>
#include <nlohmann/json.hpp>

// Set by the build from the packages' own metadata: these two have no version macro that is
// cheap to include (simdjson's is in its single 1 MB header) and no run-time query.
#ifndef DE_YAML_CPP_VERSION
#define DE_YAML_CPP_VERSION "unknown"
#endif
#ifndef DE_SIMDJSON_VERSION
#define DE_SIMDJSON_VERSION "unknown"
#endif

namespace de::ffi {

namespace {

LibraryVersion runtime(std::string name, std::string version, std::string header) {
  LibraryVersion v{.name = std::move(name), .version = std::move(version), .runtime = true};
  if (header != v.version) v.built_with = std::move(header);
  return v;
}

LibraryVersion compiled(std::string name, std::string version) {
  return {.name = std::move(name), .version = std::move(version)};
}

// libarchive's number is MMMmmmppp (3006002 for 3.6.2).
std::string archive_version() {
  int n = archive_version_number();
  return fmt::format("{}.{}.{}", n / 1000000, n / 1000 % 1000, n % 1000);
}

}  // namespace

std::vector<LibraryVersion> library_versions() {
  std::vector<LibraryVersion> out;
  out.push_back(runtime("libsolv", solv_version, LIBSOLV_VERSION_STRING));
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  LibraryVersion c = runtime("libcurl", curl && curl->version ? curl->version : "unknown",
                             LIBCURL_VERSION);
  if (curl && curl->ssl_version) c.detail = fmt::format("TLS {}", curl->ssl_version);
  out.push_back(std::move(c));
  out.push_back(
      runtime("OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING), OPENSSL_FULL_VERSION_STR));
  out.push_back(runtime("zstd", ZSTD_versionString(), ZSTD_VERSION_STRING));
  out.push_back(compiled("ISA-L", fmt::format("{}.{}.{}", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION,
                                              ISAL_PATCH_VERSION)));
  out.push_back(runtime("libarchive", archive_version(), ARCHIVE_VERSION_ONLY_STRING));
  out.push_back(compiled("yaml-cpp", DE_YAML_CPP_VERSION));
  out.push_back(compiled("simdjson", DE_SIMDJSON_VERSION));
  out.push_back(
      compiled("fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
                                  FMT_VERSION % 100)));
  out.push_back(compiled("nlohmann-json",
                         fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                     NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)));
  return out;
}

}  // namespace de::ffi
