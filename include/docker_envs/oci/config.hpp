// The image configuration (OCI image-spec config / Docker image JSON v1.2).
//
// The whole document is kept as JSON so that fields this program does not know survive a round
// trip; typed accessors cover what it reads and edits. Key order of the output is sorted (stable).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"
#include "docker_envs/oci/manifest.hpp"

namespace de::oci {

struct HistoryEntry {
  std::string created;     // RFC 3339, empty when absent
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;

  nlohmann::json to_json() const;
  static HistoryEntry from_json(const nlohmann::json& j);
};

class ImageConfig {
 public:
  ImageConfig();  // an empty linux/amd64 config with no layers
  static Result<ImageConfig> parse(std::string_view json);
  // Canonical bytes (sorted keys, compact).
  std::string to_json() const;

  const nlohmann::json& json() const { return doc_; }
  nlohmann::json& json() { return doc_; }

  // Same JSON document (key order and number spelling aside).
  bool operator==(const ImageConfig& other) const { return doc_ == other.doc_; }

  Platform platform() const;
  void set_platform(const Platform& p);

  Result<std::vector<Digest>> diff_ids() const;
  void set_diff_ids(const std::vector<Digest>& ids);

  std::vector<HistoryEntry> history() const;
  void set_history(const std::vector<HistoryEntry>& h);

  // Container config ("config" object): Env as ordered NAME=VALUE list.
  std::vector<std::string> env() const;
  void set_env(const std::vector<std::string>& env);
  // Sets NAME=VALUE, replacing an existing NAME.
  void set_env_var(std::string_view name, std::string_view value);
  std::optional<std::string> env_var(std::string_view name) const;

  std::optional<std::vector<std::string>> entrypoint() const;
  void set_entrypoint(const std::optional<std::vector<std::string>>& v);
  std::optional<std::vector<std::string>> cmd() const;
  void set_cmd(const std::optional<std::vector<std::string>>& v);
  std::string working_dir() const;
  void set_working_dir(std::string_view dir);
  std::string user() const;
  void set_user(std::string_view user);
  std::map<std::string, std::string> labels() const;
  void set_label(std::string_view key, std::string_view value);
  std::vector<std::string> exposed_ports() const;  // "80/tcp"
  void add_exposed_port(std::string_view port);     // "80" becomes "80/tcp"

  std::string created() const;
  void set_created(std::string_view rfc3339);

 private:
  nlohmann::json& container_config();
  const nlohmann::json* container_config_or_null() const;
  nlohmann::json doc_;
};

}  // namespace de::oci
