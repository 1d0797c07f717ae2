#include "docker_envs/conda/virtual_packages.hpp"

#include "docker_envs/conda/channel.hpp"
#include "docker_envs/conda/version.hpp"

namespace de::conda {

namespace {

std::string_view default_archspec(std::string_view platform) {
  if (platform == "linux-aarch64") return "aarch64";
  if (platform == "linux-ppc64le") return "ppc64le";
  if (platform == "linux-s390x") return "s390x";
  if (platform == "osx-arm64" || platform == "win-arm64") return "arm64";
  if (platform == "linux-32" || platform == "win-32") return "x86";
  return "x86_64";
}

Status add(std::vector<PackageRecord>& out, std::string_view platform, std::string name,
           const std::optional<std::string>& override_value, std::string default_version,
           std::string build = "0") {
  std::string version = override_value.value_or(std::move(default_version));
  if (version.empty()) return {};  // removed by the override
  if (auto v = Version::parse(version); !v)
    return std::unexpected(
        std::move(v).error().add_context("virtual package " + name + " version"));
  PackageRecord r;
  r.name = std::move(name);
  r.version = std::move(version);
  r.build = std::move(build);
  r.subdir = platform;
  r.channel = "@";
  r.fn = r.dist_name();
  out.push_back(std::move(r));
  return {};
}

}  // namespace

Result<std::vector<PackageRecord>> virtual_packages(std::string_view platform,
                                                    const VirtualPackageOverrides& overrides) {
  if (!is_known_subdir(platform) || platform == "noarch")
    return fail(Code::InvalidArgument, "unknown platform '{}' for virtual packages", platform);
  std::vector<PackageRecord> out;
  std::string_view os = platform.substr(0, platform.find('-'));
  std::string arch = overrides.archspec && !overrides.archspec->empty()
                         ? *overrides.archspec
                         : std::string(default_archspec(platform));
  if (os == "linux") {
    DE_TRY(add(out, platform, "__linux", overrides.linux, "0"));
    DE_TRY(add(out, platform, "__glibc", overrides.glibc, "2.28"));
  } else if (os == "osx") {
    DE_TRY(add(out, platform, "__osx", overrides.osx, platform == "osx-arm64" ? "11.0" : "10.15"));
  } else if (os == "win") {
    DE_TRY(add(out, platform, "__win", overrides.win, "0"));
  }
  if (os == "linux" || os == "osx") DE_TRY(add(out, platform, "__unix", std::nullopt, "0"));
  if (!(overrides.archspec && overrides.archspec->empty()))
    DE_TRY(add(out, platform, "__archspec", std::nullopt, "1", arch));
  if (overrides.cuda && !overrides.cuda->empty())
    DE_TRY(add(out, platform, "__cuda", overrides.cuda, ""));
  return out;
}

}  // namespace de::conda
