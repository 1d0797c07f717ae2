// Target: oci::TarReader over arbitrary bytes (layer tars: ustar, pax, GNU, base-256, v7).
#include <array>

#include "docker_envs/oci/tar.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  de::StringReader in{std::string(de::fuzz::as_text(data, size))};
  de::oci::TarReader tar(in);
  std::array<std::byte, 4096> buf;
  for (int entries = 0; entries < 10000; ++entries) {
    auto entry = tar.next();
    if (!entry || !*entry) break;
    // Every path handed out is normalised: never absolute, never climbing.
    const std::string& path = (*entry)->path;
    DE_FUZZ_CHECK(!path.starts_with('/') && path != ".." && !path.starts_with("../") &&
                      path.find("/../") == std::string::npos && !path.ends_with("/.."),
                  path);
    std::uint64_t got = 0;
    while (true) {
      auto n = tar.read_data(buf);
      if (!n || *n == 0) break;
      got += *n;
    }
    DE_FUZZ_CHECK(got <= (*entry)->size, path);
  }
  return 0;
}
