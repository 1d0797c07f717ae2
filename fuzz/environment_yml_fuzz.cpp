// Target: environment.yml (yaml-cpp, then our checks of every key and match spec): the conda part
// and the `image:` section the build command reads.
#include "docker_envs/build/image_spec.hpp"
#include "docker_envs/conda/environment_spec.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 << 10) return 0;
  auto spec = de::conda::parse_environment_spec(de::fuzz::as_text(data, size), "environment.yml");
  if (spec)
    for (const char* platform : {"linux-64", "osx-arm64", "win-64"})
      (void)spec->dependencies_for(platform);
  (void)de::build::parse_environment_image(de::fuzz::as_text(data, size), "environment.yml",
                                           "/work");
  return 0;
}
