// Target: registry text: image references (parse -> to_string / familiar -> parse must give the
// same reference) and WWW-Authenticate headers; the first byte picks which.
#include "docker_envs/registry/auth.hpp"
#include "docker_envs/registry/reference.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 8192) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  using de::registry::Reference;
  switch (data[0] % 3) {
    case 0: {
      auto ref = Reference::parse(text);
      if (!ref) return 0;
      for (const std::string& out : {ref->to_string(), ref->familiar()}) {
        auto again = Reference::parse(out);
        DE_FUZZ_CHECK(again.has_value(), out);
        DE_FUZZ_CHECK(*again == *ref, out + " -> " + again->to_string());
      }
      (void)ref->api_host();
      break;
    }
    case 1:
      (void)de::registry::parse_challenges(text);
      break;
    default:
      (void)de::registry::DockerConfig::parse(text);
      (void)de::registry::Credentials::parse_user_pass(text);
  }
  return 0;
}
