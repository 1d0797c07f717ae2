// Target: the OCI/Docker JSON documents on their own: the first byte picks manifest, index or
// config; what parses must serialise and parse again to the same bytes.
#include "docker_envs/oci/config.hpp"
#include "docker_envs/oci/manifest.hpp"
#include "fuzz_util.hpp"

namespace {

// T::parse(text), and when it succeeds: to_json() parses back to the same bytes.
template <class T>
de::Result<T> round_trip(std::string_view text) {
  auto value = T::parse(text);
  if (value) {
    std::string out = value->to_json();
    auto again = T::parse(out);
    DE_FUZZ_CHECK(again.has_value(), out);
    DE_FUZZ_CHECK(again->to_json() == out, out);
  }
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text = de::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)round_trip<de::oci::Manifest>(text);
      break;
    case 1:
      (void)round_trip<de::oci::Index>(text);
      break;
    case 2:
      if (auto c = round_trip<de::oci::ImageConfig>(text)) {
        (void)c->platform();
        (void)c->diff_ids();
        (void)c->history();
        (void)c->env();
        (void)c->entrypoint();
        (void)c->cmd();
      }
      break;
    default:
      (void)de::oci::sniff_manifest_media_type(text);
  }
  return 0;
}
