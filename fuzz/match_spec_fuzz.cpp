// Target: conda MatchSpec: parse -> to_string -> parse must succeed and give the same text (the
// header's promise), and matching must not depend on which of the two is used.
#include "docker_envs/conda/match_spec.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  using de::conda::MatchSpec;
  auto spec = MatchSpec::parse(de::fuzz::as_text(data, size));
  if (!spec) return 0;
  std::string out = spec->to_string();
  auto again = MatchSpec::parse(out);
  DE_FUZZ_CHECK(again.has_value(), out + ": " + again.error().to_string());
  DE_FUZZ_CHECK(again->to_string() == out, out + " -> " + again->to_string());
  static const de::conda::Version version = *de::conda::Version::parse("1.26.4");
  de::conda::PackageRecordView record;
  record.name = "numpy";
  record.version = &version;
  record.build = "py311h_0";
  record.build_number = 0;
  record.channel = "conda-forge";
  record.subdir = "linux-64";
  record.fn = "numpy-1.26.4-py311h_0.conda";
  DE_FUZZ_CHECK(spec->matches(record) == again->matches(record), out);
  return 0;
}
