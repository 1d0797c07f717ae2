// Target: the shared build cache's index (an artifact config read from a registry or an OCI
// layout, so anyone's bytes): what decodes must encode and decode again to the same bytes, and
// merging it into itself keeps it whole.
#include "docker_envs/build/shared_cache.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto index = de::build::SharedCacheIndex::decode(de::fuzz::as_text(data, size));
  if (!index) return 0;
  std::string text = index->encode();
  auto again = de::build::SharedCacheIndex::decode(text);
  DE_FUZZ_CHECK(again.has_value(), text);
  DE_FUZZ_CHECK(again->encode() == text, text);
  auto merged = *index;
  merged.merge(*again);
  DE_FUZZ_CHECK(merged.images.size() <= index->images.size(), text);
  for (const auto& [key, image] : merged.images)
    for (const auto& layer : image.layers) DE_FUZZ_CHECK(merged.layers.contains(layer.key), text);
  (void)merged.blobs();
  return 0;
}
