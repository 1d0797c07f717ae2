// Target: the OCI/Docker JSON documents on their own: the first byte picks manifest, index or
// config; what parses must serialise and parse again to the same bytes.
#include "docker_envs/oci/config.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto m = de::oci::Manifest::parse(text)) {
        std::string out = m->to_json();
        auto again = de::oci::Manifest::parse(out);
        DE_FUZZ_CHECK(again.has_value(), out);
        DE_FUZZ_CHECK(again->to_json() == out, out);
      }
      break;
    case 1:
      if (auto i = de::oci::Index::parse(text)) {
        std::string out = i->to_json();
        auto again = de::oci::Index::parse(out);
        DE_FUZZ_CHECK(again.has_value(), out);
        DE_FUZZ_CHECK(again->to_json() == out, out);
      }
      break;
    case 2:
      if (auto c = de::oci::ImageConfig::parse(text)) {
        (void)c->platform();
        (void)c->diff_ids();
        (void)c->history();
        (void)c->env();
        (void)c->entrypoint();
        (void)c->cmd();
        std::string out = c->to_json();
        auto again = de::oci::ImageConfig::parse(out);
        DE_FUZZ_CHECK(again.has_value(), out);
        DE_FUZZ_CHECK(again->to_json() == out, out);
      }
      break;
    default:
      (void)de::oci::sniff_manifest_media_type(text);
  }
  return 0;
}
