// Private to the build module: `docker://` references in build inputs (base, destination, shared
// caches), and the registry options a build asks for only when it needs them.
#pragma once

#include <functional>
#include <string_view>

#include "docker_envs/base/error.hpp"
#include "docker_envs/registry/client.hpp"
#include "docker_envs/registry/reference.hpp"

namespace de::build::detail {

inline constexpr std::string_view kRegistryPrefix = "docker://";

inline bool is_registry_ref(std::string_view text) { return text.starts_with(kRegistryPrefix); }

// "docker://REF" or "REF" as a registry reference.
inline Result<registry::Reference> registry_ref(std::string_view text) {
  if (is_registry_ref(text)) text.remove_prefix(kRegistryPrefix.size());
  return registry::Reference::parse(text);
}

using RegistryOptionsFn = std::function<Result<registry::RegistryOptions>()>;

// What `fn` gives, or the defaults when the caller gave no way to make options.
inline Result<registry::RegistryOptions> registry_options(const RegistryOptionsFn& fn) {
  if (!fn) return registry::RegistryOptions{};
  return fn();
}

}  // namespace de::build::detail
