// Target: conda repodata.json (simdjson on-demand reader), then the records' accessors.
#include "docker_envs/conda/repodata.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  de::conda::RepodataOptions options;
  options.subdir_url = "https://conda.example/ch/linux-64";
  auto repodata = de::conda::Repodata::parse(de::fuzz::as_text(data, size), options);
  if (repodata)
    for (const auto& r : repodata->records) {
      (void)repodata->url_for(r);
      (void)r.timestamp_seconds();
    }
  return 0;
}
