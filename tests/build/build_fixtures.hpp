// Test helper: a small environment of packages the tests build themselves
// (conda/test_packages.hpp), as the records an @EXPLICIT file would give, with file:// URLs.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "conda/test_packages.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/progress.hpp"
#include "docker_envs/conda/package.hpp"
#include "docker_envs/conda/package_record.hpp"

namespace de::build::test {

namespace ct = de::conda::test;

// Keeps every progress event (copied: an Event's views do not outlive the call).
struct RecordingReporter : progress::Reporter {
  struct Seen {
    progress::Kind kind;
    std::string stage, task, detail;
    std::uint64_t bytes = 0, total = 0;
  };
  void report(const progress::Event& e) override {
    std::lock_guard lock(mutex);
    events.push_back({e.kind, std::string(e.stage), std::string(e.task), std::string(e.detail),
                      e.bytes, e.total});
  }
  // The events of `kind` (and `stage`, when given).
  std::vector<Seen> of(progress::Kind kind, std::string_view stage = {}) const {
    std::vector<Seen> out;
    for (const auto& e : events)
      if (e.kind == kind && (stage.empty() || e.stage == stage)) out.push_back(e);
    return out;
  }
  std::mutex mutex;
  std::vector<Seen> events;
};

inline ct::PackageSpec hello_spec(std::string version = "1.0") {
  ct::PackageSpec spec;
  spec.name = "hello";
  spec.version = version;
  ct::Entry script =
      ct::file("bin/hello",
               "#!/bin/sh\necho prefix=/opt/anaconda1anaconda2anaconda3 v" + version +
                   "\ncat /opt/anaconda1anaconda2anaconda3/share/dep.txt\n",
               0755);
  script.placeholder = "/opt/anaconda1anaconda2anaconda3";
  spec.payload = {script};
  spec.depends = {"dep"};
  return spec;
}

inline ct::PackageSpec dep_spec() {
  ct::PackageSpec spec;
  spec.name = "dep";
  spec.payload = {ct::file("share/dep.txt", "from dep\n"),
                  ct::file("etc/conda/activate.d/dep.sh",
                           "# set by dep\nexport DEP_HOME=\"${CONDA_PREFIX}/share\"\n"
                           "export DEP_MODE=static\nif [ -n \"$X\" ]; then echo; fi\n"),
                  ct::symlink("lib/libdep.so", "libdep.so.1"), ct::file("lib/libdep.so.1", "ELF")};
  return spec;
}

inline ct::PackageSpec filler_spec(int i) {
  ct::PackageSpec spec;
  spec.name = fmt::format("filler{}", i);
  spec.payload = {ct::file(fmt::format("share/filler{}/data.txt", i), std::string(1000 + i, 'x'))};
  return spec;
}

// Builds the package and returns its record as an @EXPLICIT line would (url, sha256, name...).
inline conda::PackageRecord record_for(const std::filesystem::path& dir,
                                       const ct::PackageSpec& spec) {
  auto path = ct::build_package(dir, spec, conda::PackageFormat::Conda);
  EXPECT_TRUE(path) << path.error().to_string();
  auto hashes = conda::hash_package_file(*path);
  EXPECT_TRUE(hashes);
  conda::PackageRecord r;
  r.name = spec.name;
  r.version = spec.version;
  r.build = spec.build;
  r.subdir = spec.subdir;
  r.fn = path->filename().string();
  r.url = "file://" + path->string();
  r.sha256 = hashes->sha256;
  return r;
}

}  // namespace de::build::test
