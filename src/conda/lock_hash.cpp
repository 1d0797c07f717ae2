#include "docker_envs/conda/lock_hash.hpp"

#include <nlohmann/json.hpp>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/conda/channel.hpp"

namespace de::conda {

std::string solve_request_hash(const EnvironmentSolveRequest& r,
                               std::span<const std::string> pip_lines) {
  nlohmann::ordered_json doc;
  std::vector<std::string> channels;
  for (const auto& c : r.channels) channels.push_back(redact_url(c));
  doc["channels"] = channels;
  doc["specs"] = r.specs;
  doc["pins"] = r.pins;
  doc["platform"] = r.platform;
  doc["channel_priority"] = static_cast<int>(r.channel_priority);
  // The target's virtual packages change the answer too (only those set, so that locks made
  // without overrides keep their hash).
  const auto& o = r.virtual_overrides;
  for (const auto& [name, value] : {std::pair{"__glibc", &o.glibc},
                                    {"__cuda", &o.cuda},
                                    {"__osx", &o.osx},
                                    {"__linux", &o.linux},
                                    {"__win", &o.win},
                                    {"__archspec", &o.archspec}})
    if (*value) doc["virtual_packages"][name] = **value;
  if (!pip_lines.empty()) doc["pip"] = std::vector<std::string>(pip_lines.begin(), pip_lines.end());
  Sha256 h;
  h.update(doc.dump());
  return h.finish().hex();
}

bool written_by_docker_envs(std::string_view lock_text) {
  auto first = lock_text.substr(0, lock_text.find('\n'));
  return first.starts_with("#") && first.find("written by docker-envs lock") != std::string::npos;
}

}  // namespace de::conda
