// What a real lock file holds, read by a plain walk of its YAML (never typed by hand): the
// expectations the lock-model tests (tests/conda) and the build dry-run tests (tests/build) check
// our reader against.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <string>

namespace de::test {

struct Counts {
  std::size_t conda = 0, pypi = 0;
};
// environment -> platform -> counts, straight from the YAML.
using Expected = std::map<std::string, std::map<std::string, Counts>>;

inline Expected expected_pixi(const YAML::Node& root) {
  Expected out;
  for (const auto& env : root["environments"]) {
    auto& platforms = out[env.first.Scalar()];
    YAML::Node packages = env.second["packages"];
    if (!packages || !packages.IsMap()) continue;
    for (const auto& platform : packages) {
      Counts& c = platforms[platform.first.Scalar()];
      for (const auto& sel : platform.second) (sel["pypi"] ? c.pypi : c.conda) += 1;
    }
  }
  return out;
}

inline Expected expected_conda_lock(const YAML::Node& root) {
  Expected out;
  auto& platforms = out["default"];
  for (const auto& p : root["metadata"]["platforms"]) platforms[p.Scalar()];
  for (const auto& p : root["package"]) {
    Counts& c = platforms[p["platform"].Scalar()];
    (p["manager"].Scalar() == "pip" ? c.pypi : c.conda) += 1;
  }
  return out;
}

// The sha256 of each package description, by URL (pixi: `conda:`, `pypi:` or `url:`;
// conda-lock: `url:`).
inline std::map<std::string, std::string> expected_sha256(const YAML::Node& root) {
  std::map<std::string, std::string> out;
  YAML::Node list = root["packages"] ? root["packages"] : root["package"];
  for (const auto& p : list) {
    YAML::Node url = p["conda"] ? p["conda"] : (p["pypi"] ? p["pypi"] : p["url"]);
    YAML::Node sha = p["sha256"] ? p["sha256"] : (p["hash"] ? p["hash"]["sha256"] : YAML::Node());
    if (url && sha) out[url.Scalar()] = sha.Scalar();
  }
  return out;
}

}  // namespace de::test
