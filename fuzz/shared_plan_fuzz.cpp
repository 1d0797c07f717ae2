// Target: a plan read from a shared build cache (a registry's or an OCI layout's blob, so anyone's
// bytes): zstd frames, with or without their content size, over the plan's header. What decodes
// must encode and decode again to the same plan.
#include "docker_envs/build/shared_cache.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto plan = de::build::decode_shared_plan(de::fuzz::as_text(data, size));
  if (!plan) return 0;
  auto blob = de::build::encode_shared_plan(*plan);
  DE_FUZZ_CHECK(blob.has_value(), plan->index_json);
  auto again = de::build::decode_shared_plan(*blob);
  DE_FUZZ_CHECK(again.has_value(), plan->index_json);
  DE_FUZZ_CHECK(again->index_json == plan->index_json && again->plan == plan->plan,
                plan->index_json);
  return 0;
}
