// Target: the pypi text parsers (versions, specifiers, requirements, markers, wheel names, core
// metadata, simple-API pages). The first byte picks the parser; what parses must print in a form
// that parses again to the same value, and nothing may crash or throw.
#include "docker_envs/pypi/dist_filename.hpp"
#include "docker_envs/pypi/metadata.hpp"
#include "docker_envs/pypi/requirement.hpp"
#include "docker_envs/pypi/simple_api.hpp"
#include "docker_envs/pypi/target.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 65536) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  using namespace de::pypi;
  switch (data[0] % 8) {
    case 0: {
      auto v = Version::parse(text);
      if (!v) return 0;
      auto again = Version::parse(v->to_string());
      DE_FUZZ_CHECK(again && *again == *v, v->to_string());
      DE_FUZZ_CHECK(again->to_string() == v->to_string(), v->to_string());
      return 0;
    }
    case 1: {
      auto s = SpecifierSet::parse(text);
      if (!s) return 0;
      auto again = SpecifierSet::parse(s->to_string());
      DE_FUZZ_CHECK(again && again->to_string() == s->to_string(), s->to_string());
      for (const char* probe : {"0", "1.0", "1.0rc1", "1!2.0.post1", "1.0+local.7", "2.0.dev3"})
        DE_FUZZ_CHECK(s->matches(*Version::parse(probe)) == again->matches(*Version::parse(probe)),
                      s->to_string());
      return 0;
    }
    case 2: {
      auto r = Requirement::parse(text);
      if (!r) return 0;
      auto again = Requirement::parse(r->to_string());
      DE_FUZZ_CHECK(again && again->to_string() == r->to_string(), r->to_string());
      return 0;
    }
    case 3: {
      auto m = Marker::parse(text);
      if (!m) return 0;
      auto again = Marker::parse(m->to_string());
      DE_FUZZ_CHECK(again && again->to_string() == m->to_string(), m->to_string());
      static const auto target = Target::for_image(
          TargetSpec{.platform = "linux-64", .python_version = "3.11.4", .python_build = ""});
      DE_FUZZ_CHECK(m->evaluate(target->markers, "x") == again->evaluate(target->markers, "x"),
                    m->to_string());
      return 0;
    }
    case 4:
      (void)WheelFilename::parse(text);
      (void)SdistFilename::parse(text, "demo");
      return 0;
    case 5:
      (void)CoreMetadata::parse(text);
      return 0;
    case 6:
      (void)parse_simple_html(text, "https://h.example/simple/x/");
      return 0;
    default:
      (void)parse_simple_json(text, "https://h.example/simple/x/");
      return 0;
  }
}
