// Target: conda Version / VersionSpec: the first byte picks which; parse -> to_string -> parse must
// give an equal value, and comparisons must be consistent.
#include "docker_envs/conda/version.hpp"
#include "docker_envs/conda/version_spec.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 4096) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  using de::conda::Version;
  using de::conda::VersionSpec;
  if ((data[0] & 1) == 0) {
    auto v = Version::parse(text);
    if (!v) return 0;
    auto again = Version::parse(v->to_string());
    DE_FUZZ_CHECK(again.has_value(), v->to_string());
    DE_FUZZ_CHECK(*again == *v, v->to_string());
    DE_FUZZ_CHECK(!(*v < *v), v->to_string());
    return 0;
  }
  auto spec = VersionSpec::parse(text);
  if (!spec) return 0;
  std::string out = spec->to_string();
  auto again = VersionSpec::parse(out);
  DE_FUZZ_CHECK(again.has_value(), out);
  DE_FUZZ_CHECK(again->to_string() == out, out + " -> " + again->to_string());
  for (const char* probe : {"0", "1.2.3", "1.0a1", "2!3.4.post1", "1.2.3+local.7", "10.0.dev0"}) {
    auto v = Version::parse(probe);
    if (v) DE_FUZZ_CHECK(spec->contains(*v) == again->contains(*v), out);
  }
  return 0;
}
