// repodata_bench: how fast Repodata::load parses a repodata.json, against simdjson's own DOM
// parse of the same file in the same run (bench/repodata.sh).
//
//   repodata_bench [--runs N] FILE
//   repodata_bench --fingerprint FILE   # prints a hash of every parsed record (to compare parsers)
//
// Both timings include getting the (page-cached) file into memory: the baseline reads it into a
// padded buffer, Repodata::load maps it. The baseline,
// simdjson::dom::parser::parse, validates the whole document and builds simdjson's tape of every
// value — the work any simdjson-based parser does at least once — but creates no records. Ours
// builds a PackageRecord (strings, depends lists, hashes) for every package. Prints the median of
// N runs of each, in MB/s (1 MB = 10^6 bytes), and the ratio of the times.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
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

// FNV-1a over every field of every record, in order, and the counters: equal fingerprints before
// and after a change to the parser mean it builds the same records.
struct Fingerprint {
  std::uint64_t h = 1469598103934665603ull;
  void bytes(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // a separator, so that "ab","c" differs from "a","bc"
  }
  void num(std::uint64_t v) { bytes(std::string_view(reinterpret_cast<const char*>(&v), sizeof v)); }
  template <typename T>
  void opt(const std::optional<T>& v, auto&& f) {
    num(v.has_value());
    if (v) f(*v);
  }
};

int fingerprint(const std::string& file) {
  auto repodata = de::conda::Repodata::load(file, {});
  if (!repodata) {
    std::fprintf(stderr, "repodata_bench: %s\n", repodata.error().to_string().c_str());
    return 1;
  }
  Fingerprint f;
  f.num(repodata->records.size());
  for (const auto& r : repodata->records) {
    for (const auto* s : {&r.name, &r.version, &r.build, &r.subdir, &r.fn, &r.url, &r.channel,
                          &r.license, &r.track_features, &r.python_site_packages_path})
      f.bytes(*s);
    f.num(static_cast<std::uint64_t>(r.build_number));
    f.num(static_cast<std::uint64_t>(r.noarch));
    f.num(r.depends.size());
    for (const auto& d : r.depends) f.bytes(d);
    f.num(r.constrains.size());
    for (const auto& d : r.constrains) f.bytes(d);
    f.opt(r.md5, [&](const auto& m) { f.bytes(m.hex()); });
    f.opt(r.sha256, [&](const auto& d) { f.bytes(d.to_string()); });
    f.opt(r.size, [&](auto v) { f.num(v); });
    f.opt(r.timestamp, [&](auto v) { f.num(static_cast<std::uint64_t>(v)); });
  }
  f.num(repodata->skipped);
  f.num(repodata->superseded_tar_bz2);
  for (const auto& s : repodata->skip_reasons) f.bytes(s);
  f.num(repodata->removed.size());
  for (const auto& s : repodata->removed) f.bytes(s);
  f.bytes(repodata->subdir);
  f.bytes(repodata->base_url);
  f.num(static_cast<std::uint64_t>(repodata->repodata_version));
  std::printf("%s: %zu records, %zu skipped, %zu superseded, fingerprint %016llx\n", file.c_str(),
              repodata->records.size(), repodata->skipped, repodata->superseded_tar_bz2,
              static_cast<unsigned long long>(f.h));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string file;
  bool print_fingerprint = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--fingerprint") {
      print_fingerprint = true;
    } else if (!a.starts_with("-") && file.empty()) {
      file = a;
    } else {
      std::fprintf(stderr, "usage: repodata_bench [--runs N | --fingerprint] FILE\n");
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "usage: repodata_bench [--runs N | --fingerprint] FILE\n");
    return 2;
  }
  if (print_fingerprint) return fingerprint(file);
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
