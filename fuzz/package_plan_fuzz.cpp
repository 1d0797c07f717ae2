// Target: a package's plan as the plan cache and a shared build cache hold it (a shared cache's
// plans are anyone's bytes): its summary, read alone, and its entries. The first byte says
// whether the checksums are made right first. What decodes must encode
// and decode again to the same entries, and the summary of that encoding must describe them.
#include <cstring>

#include "conda/package_plan_cache.hpp"
#include "fuzz_util.hpp"

namespace {

std::string describe(const de::conda::InstallEntry& e) {
  return e.path + "|" + std::to_string(static_cast<int>(e.type)) + "|" + std::to_string(e.mode) +
         "|" + std::to_string(static_cast<int>(e.source)) + "|" + e.host_path + "|" + e.data +
         "|" + e.placeholder + "|" + std::to_string(static_cast<int>(e.placeholder_mode)) + "|" +
         std::to_string(e.size) + "|" + e.link_target + "|" + e.package;
}

// The checksums stop almost every mutation before the parsers: with the first byte odd, they are
// made right for the rest of the input (the summary's where its length says, and the file's).
std::string with_checksums(std::string bytes) {
  constexpr std::string_view kMagic = "docker-envs package plan v2\n";
  constexpr std::size_t kSum = 32;
  if (!bytes.starts_with(kMagic) || bytes.size() < kMagic.size() + 4 + kSum) return bytes;
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + kMagic.size(), 4);
  const std::size_t start = kMagic.size() + 4;
  if (length <= bytes.size() - start && bytes.size() - start - length >= 2 * kSum) {
    auto sum = de::Digest::of(std::string_view(bytes).substr(start, length));
    std::memcpy(bytes.data() + start + length, sum.bytes().data(), kSum);
  }
  auto sum = de::Digest::of(std::string_view(bytes).substr(0, bytes.size() - kSum));
  std::memcpy(bytes.data() + bytes.size() - kSum, sum.bytes().data(), kSum);
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace detail = de::conda::detail;
  if (size == 0) return 0;
  const std::string input(de::fuzz::as_text(data + 1, size - 1));
  const std::string fixed = (data[0] & 1) ? with_checksums(input) : input;
  const std::string_view bytes = fixed;
  (void)detail::decode_plan_summary(bytes);
  const std::filesystem::path dir = "/cache/pkgs/fuzz-1.0-0-0123456789abcdef";
  auto plan = detail::decode_package_plan(bytes, dir, "fuzz-1.0-0", "opt/conda");
  if (!plan) return 0;
  const std::string again = detail::encode_package_plan(*plan, dir);
  auto back = detail::decode_package_plan(again, dir, "fuzz-1.0-0", "opt/conda");
  DE_FUZZ_CHECK(back.has_value(), "re-encoded plan");
  DE_FUZZ_CHECK(back->entries.size() == plan->entries.size() && back->warnings == plan->warnings,
                "re-encoded plan");
  for (std::size_t i = 0; i < plan->entries.size(); ++i)
    DE_FUZZ_CHECK(describe(back->entries[i]) == describe(plan->entries[i]), plan->entries[i].path);
  auto summary = detail::decode_plan_summary(again);
  DE_FUZZ_CHECK(summary.has_value(), "summary of a re-encoded plan");
  std::uint64_t total = 0;
  for (const auto& e : plan->entries) total += e.size;
  DE_FUZZ_CHECK(summary->entries == plan->entries.size() && summary->size == total &&
                    summary->warnings == plan->warnings,
                "summary of a re-encoded plan");
  return 0;
}
