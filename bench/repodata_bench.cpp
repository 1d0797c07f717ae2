// repodata_bench: how fast Repodata::load parses a repodata.json, against simdjson's own DOM
// parse of the same file in the same run (bench/repodata.sh).
//
//   repodata_bench [--runs N] FILE
//
// Both timings include reading the (page-cached) file into a padded buffer. The baseline,
// simdjson::dom::parser::parse, validates the whole document and builds simdjson's tape of every
// value — the work any simdjson-based parser does at least once — but creates no records. Ours
// builds a PackageRecord (strings, depends lists, hashes) for every package. Prints the median of
// N runs of each, in MB/s (1 MB = 10^6 bytes), and the ratio of the times.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/conda/repodata.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall seconds of f(); its CPU seconds (all threads) are added to `cpu`.
template <typename F>
double seconds(F&& f, std::vector<double>& cpu) {
  auto c0 = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  f();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cpu.push_back(cpu_now() - c0);
  return wall;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (!a.starts_with("-") && file.empty()) {
      file = a;
    } else {
      std::fprintf(stderr, "usage: repodata_bench [--runs N] FILE\n");
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "usage: repodata_bench [--runs N] FILE\n");
    return 2;
  }
  std::size_t bytes = 0, records = 0;
  std::vector<double> ours, base, ours_cpu, base_cpu;
  simdjson::dom::parser dom;
  for (int r = 0; r < runs; ++r) {
    // Alternate so that load changes on a shared machine hit both alike.
    base.push_back(seconds([&] {
      simdjson::padded_string json;
      if (simdjson::padded_string::load(file).get(json)) {
        std::fprintf(stderr, "repodata_bench: cannot read %s\n", file.c_str());
        std::exit(1);
      }
      simdjson::dom::element doc;
      if (auto e = dom.parse(json).get(doc)) {
        std::fprintf(stderr, "repodata_bench: %s: %s\n", file.c_str(), simdjson::error_message(e));
        std::exit(1);
      }
      bytes = json.size();
    }, base_cpu));
    // The records are freed after the clock stops, like the DOM above (freeing is the caller's
    // business, and takes as long as building them).
    std::optional<de::Result<de::conda::Repodata>> repodata;
    ours.push_back(seconds([&] { repodata.emplace(de::conda::Repodata::load(file, {})); }, ours_cpu));
    if (!*repodata) {
      std::fprintf(stderr, "repodata_bench: %s\n", (*repodata).error().to_string().c_str());
      return 1;
    }
    records = (*repodata)->records.size();
  }
  double o = median(ours), b = median(base), mb = static_cast<double>(bytes) / 1e6;
  std::printf("%s: %.1f MB, %zu records, median of %d\n", file.c_str(), mb, records, runs);
  double oc = median(ours_cpu), bc = median(base_cpu);
  std::printf("%-40s %7.3fs %7.0f MB/s | cpu %7.3fs %7.0f MB/s\n", "Repodata::load (records)", o,
              mb / o, oc, mb / oc);
  std::printf("%-40s %7.3fs %7.0f MB/s | cpu %7.3fs %7.0f MB/s\n",
              "baseline: simdjson dom::parser::parse", b, mb / b, bc, mb / bc);
  std::printf("ratio ours / baseline: wall %.2fx, cpu %.2fx; ours %.0f MB/s (target >= 500 MB/s) %s\n",
              o / b, oc / bc, mb / o, mb / o >= 500 ? "ok" : "MISSED");
  return 0;
}
