#include "docker_envs/pypi/target.hpp"

#include <array>

#include "pypi/text.hpp"

namespace de::pypi {

namespace {

struct PlatformArch {
  std::string_view conda;
  std::string_view machine;
};
constexpr std::array<PlatformArch, 6> kArches{{{"linux-64", "x86_64"},
                                               {"linux-aarch64", "aarch64"},
                                               {"linux-ppc64le", "ppc64le"},
                                               {"linux-s390x", "s390x"},
                                               {"linux-armv7l", "armv7l"},
                                               {"linux-32", "i686"}}};

// "2_73_pypy" -> "73": the PyPy version digits conda-forge puts before "_pypy".
std::string pypy_abi_digits(std::string_view build) {
  std::size_t at = build.find("_pypy");
  if (at == std::string_view::npos) return {};
  std::size_t start = at;
  while (start > 0 && is_digit(build[start - 1])) --start;
  return std::string(build.substr(start, at - start));
}

}  // namespace

Result<Target> Target::for_image(const TargetSpec& spec) {
  std::string_view machine;
  for (const auto& a : kArches)
    if (a.conda == spec.platform) machine = a.machine;
  if (machine.empty())
    return fail(Code::Unsupported,
                "PyPI packages cannot be installed for platform '{}': only linux-64, "
                "linux-aarch64, linux-ppc64le, linux-s390x, linux-armv7l and linux-32 images",
                spec.platform);

  auto python = Version::parse(spec.python_version);
  if (!python || python->release().size() < 2 || python->epoch() != 0)
    return fail(Code::InvalidArgument, "the target's python version '{}' is not major.minor[.micro]",
                spec.python_version);
  std::string_view glibc_text = spec.glibc.empty() ? kDefaultGlibc : std::string_view(spec.glibc);
  auto glibc = Version::parse(glibc_text);
  if (!glibc || glibc->release().size() < 2 || glibc->release()[0] > 1000 ||
      glibc->release()[1] > 1000)
    return fail(Code::InvalidArgument, "the target's glibc version '{}' is not major.minor",
                glibc_text);

  const auto& rel = python->release();
  if (rel[0] > 99 || rel[1] > 999)
    return fail(Code::InvalidArgument, "the target's python version '{}' is out of range",
                spec.python_version);
  bool pypy = to_lower(spec.python_build).find("pypy") != std::string::npos;
  std::string pypy_digits = pypy ? pypy_abi_digits(to_lower(spec.python_build)) : "";

  Target t;
  t.python = *python;
  // As Python prints it: at least three numbers, a pre-release kept ("3.13.0rc1").
  std::string full = rel.size() > 2 ? python->public_version().to_string()
                                    : fmt::format("{}.{}.0", rel[0], rel[1]);
  t.markers = MarkerEnvironment{
      .implementation_name = pypy ? "pypy" : "cpython",
      // PyPy's own version when the build string tells it ("73" -> 7.3), else the Python's.
      .implementation_version = pypy && pypy_digits.size() >= 2
                                    ? pypy_digits.substr(0, 1) + "." + pypy_digits.substr(1)
                                    : full,
      .os_name = "posix",
      .platform_machine = std::string(machine),
      .platform_python_implementation = pypy ? "PyPy" : "CPython",
      .platform_release = "",
      .platform_system = "Linux",
      .platform_version = "",
      .python_full_version = full,
      .python_version = fmt::format("{}.{}", rel[0], rel[1]),
      .sys_platform = "linux"};
  t.tags = interpreter_tags(InterpreterTagOptions{
      .pypy = pypy,
      .python_major = static_cast<unsigned>(rel[0]),
      .python_minor = static_cast<unsigned>(rel[1]),
      .pypy_abi_version = pypy_digits,
      .arch = std::string(machine),
      .glibc_major = static_cast<unsigned>(glibc->release()[0]),
      .glibc_minor = static_cast<unsigned>(glibc->release()[1])});
  return t;
}

}  // namespace de::pypi
