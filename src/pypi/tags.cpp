#include "docker_envs/pypi/tags.hpp"

#include <fmt/format.h>

namespace de::pypi {

TagSet::TagSet(std::vector<Tag> ordered) : tags_(std::move(ordered)) {
  for (std::size_t i = 0; i < tags_.size(); ++i) index_.try_emplace(tags_[i].to_string(), i);
}

std::optional<std::size_t> TagSet::priority(const Tag& tag) const {
  auto it = index_.find(tag.to_string());
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> linux_platform_tags(std::string_view arch, unsigned glibc_major,
                                             unsigned glibc_minor) {
  std::vector<std::string> out;
  bool x86 = arch == "x86_64" || arch == "i686";
  bool has_2014 = x86 || arch == "aarch64" || arch == "armv7l" || arch == "ppc64" ||
                  arch == "ppc64le" || arch == "s390x";
  // The first manylinux of each architecture: manylinux1 (glibc 2.5) for x86, manylinux2014
  // (glibc 2.17) for the others.
  unsigned oldest = x86 ? 5 : 17;
  if (glibc_major == 2 && has_2014) {
    for (unsigned m = glibc_minor; m >= oldest; --m) {
      out.push_back(fmt::format("manylinux_2_{}_{}", m, arch));
      if (m == 17) out.push_back(fmt::format("manylinux2014_{}", arch));
      if (m == 12 && x86) out.push_back(fmt::format("manylinux2010_{}", arch));
      if (m == 5 && x86) out.push_back(fmt::format("manylinux1_{}", arch));
    }
  }
  out.push_back(fmt::format("linux_{}", arch));
  return out;
}

TagSet interpreter_tags(const InterpreterTagOptions& o) {
  std::vector<Tag> tags;
  const auto platforms = linux_platform_tags(o.arch, o.glibc_major, o.glibc_minor);
  const unsigned major = o.python_major;
  const unsigned minor = o.python_minor;
  auto add_all = [&](const std::string& interp, const std::string& abi) {
    for (const auto& p : platforms) tags.push_back(Tag{interp, abi, p});
  };

  std::string interp;
  if (o.pypy) {
    interp = fmt::format("pp{}{}", major, minor);
    if (!o.pypy_abi_version.empty())
      add_all(interp, fmt::format("pypy{}{}_pp{}", major, minor, o.pypy_abi_version));
    add_all(interp, "none");
  } else {
    interp = fmt::format("cp{}{}", major, minor);
    // Before 3.8 the default ABI carried the pymalloc flag `m`.
    std::string abi = major == 3 && minor < 8 ? interp + "m" : interp;
    add_all(interp, abi);
    if (major == 3) add_all(interp, "abi3");
    add_all(interp, "none");
    if (major == 3)
      for (unsigned m = minor; m-- > 2;) add_all(fmt::format("cp3{}", m), "abi3");
  }

  // Interpreter-independent tags: py3Y, py3, py3X for X < Y.
  std::vector<std::string> py_versions{fmt::format("py{}{}", major, minor),
                                       fmt::format("py{}", major)};
  for (unsigned m = minor; m-- > 0;) py_versions.push_back(fmt::format("py{}{}", major, m));
  for (const auto& v : py_versions) add_all(v, "none");
  tags.push_back(Tag{interp, "none", "any"});
  for (const auto& v : py_versions) tags.push_back(Tag{v, "none", "any"});
  return TagSet(std::move(tags));
}

}  // namespace de::pypi
