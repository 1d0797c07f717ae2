// Target: lock files: @EXPLICIT lists and conda-lock v1 (through parse_lockfile, which tells them
// apart by content, and each reader directly); explicit output must read back.
#include "docker_envs/conda/conda_lock.hpp"
#include "docker_envs/conda/explicit.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 64 << 10) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto env = de::conda::parse_explicit(text, "explicit.txt");
      if (env && !env->packages.empty()) {
        auto out = de::conda::write_explicit(env->packages, "linux-64");
        if (out) {
          auto again = de::conda::parse_explicit(*out, "written");
          DE_FUZZ_CHECK(again.has_value(), *out);
          DE_FUZZ_CHECK(again->packages.size() == env->packages.size(), *out);
        }
      }
      break;
    }
    case 1: {
      de::conda::CondaLockReadOptions options;
      options.platform = "linux-64";
      (void)de::conda::parse_conda_lock(text, "conda-lock.yml", options);
      (void)de::conda::parse_conda_lock(text, "conda-lock.yml");
      break;
    }
    default:
      (void)de::conda::parse_lockfile(text, "lock", "linux-64");
  }
  return 0;
}
