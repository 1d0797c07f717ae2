#include "docker_envs/oci/config.hpp"

#include <algorithm>

namespace de::oci {
using Json = nlohmann::json;

namespace {

std::optional<std::vector<std::string>> string_list(const Json* obj, const char* key) {
  if (!obj) return std::nullopt;
  auto it = obj->find(key);
  if (it == obj->end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string string_or_empty(const Json* obj, const char* key) {
  if (!obj) return {};
  auto it = obj->find(key);
  return it != obj->end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Json HistoryEntry::to_json() const {
  Json j = Json::object();
  if (!created.empty()) j["created"] = created;
  if (!created_by.empty()) j["created_by"] = created_by;
  if (!author.empty()) j["author"] = author;
  if (!comment.empty()) j["comment"] = comment;
  if (empty_layer) j["empty_layer"] = true;
  return j;
}

HistoryEntry HistoryEntry::from_json(const Json& j) {
  HistoryEntry h;
  h.created = string_or_empty(&j, "created");
  h.created_by = string_or_empty(&j, "created_by");
  h.author = string_or_empty(&j, "author");
  h.comment = string_or_empty(&j, "comment");
  auto e = j.find("empty_layer");
  h.empty_layer = e != j.end() && e->is_boolean() && e->get<bool>();
  return h;
}

ImageConfig::ImageConfig()
    : doc_({{"architecture", "amd64"},
            {"os", "linux"},
            {"config", Json::object()},
            {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}}}) {}

Result<ImageConfig> ImageConfig::parse(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail(Code::Corruption, "image config is not valid JSON");
  if (!j.is_object()) return fail(Code::Corruption, "image config is not a JSON object");
  ImageConfig c;
  c.doc_ = std::move(j);
  DE_TRY_CTX(c.diff_ids(), std::string("image config"));
  return c;
}

std::string ImageConfig::to_json() const { return doc_.dump(); }

Platform ImageConfig::platform() const {
  Platform p;
  p.os = string_or_empty(&doc_, "os");
  p.architecture = string_or_empty(&doc_, "architecture");
  p.variant = string_or_empty(&doc_, "variant");
  p.os_version = string_or_empty(&doc_, "os.version");
  return p;
}

void ImageConfig::set_platform(const Platform& p) {
  doc_["os"] = p.os;
  doc_["architecture"] = p.architecture;
  if (p.variant.empty()) doc_.erase("variant");
  else doc_["variant"] = p.variant;
}

Result<std::vector<Digest>> ImageConfig::diff_ids() const {
  std::vector<Digest> out;
  auto rootfs = doc_.find("rootfs");
  if (rootfs == doc_.end() || !rootfs->is_object()) return out;
  auto ids = rootfs->find("diff_ids");
  if (ids == rootfs->end() || ids->is_null()) return out;
  if (!ids->is_array()) return fail(Code::Corruption, "rootfs.diff_ids is not an array");
  for (auto& id : *ids) {
    if (!id.is_string()) return fail(Code::Corruption, "rootfs.diff_ids holds a non-string");
    out.push_back(DE_TRY_CTX(Digest::parse(id.get<std::string>()), std::string("rootfs.diff_ids")));
  }
  return out;
}

void ImageConfig::set_diff_ids(const std::vector<Digest>& ids) {
  Json arr = Json::array();
  for (auto& id : ids) arr.push_back(id.to_string());
  doc_["rootfs"] = {{"type", "layers"}, {"diff_ids", std::move(arr)}};
}

std::vector<HistoryEntry> ImageConfig::history() const {
  std::vector<HistoryEntry> out;
  auto h = doc_.find("history");
  if (h == doc_.end() || !h->is_array()) return out;
  for (auto& e : *h)
    if (e.is_object()) out.push_back(HistoryEntry::from_json(e));
  return out;
}

void ImageConfig::set_history(const std::vector<HistoryEntry>& h) {
  if (h.empty()) {
    doc_.erase("history");
    return;
  }
  Json arr = Json::array();
  for (auto& e : h) arr.push_back(e.to_json());
  doc_["history"] = std::move(arr);
}

Json& ImageConfig::container_config() {
  auto& c = doc_["config"];
  if (!c.is_object()) c = Json::object();
  return c;
}

const Json* ImageConfig::container_config_or_null() const {
  auto it = doc_.find("config");
  return it != doc_.end() && it->is_object() ? &*it : nullptr;
}

std::vector<std::string> ImageConfig::env() const {
  return string_list(container_config_or_null(), "Env").value_or(std::vector<std::string>{});
}

void ImageConfig::set_env(const std::vector<std::string>& env) { container_config()["Env"] = env; }

void ImageConfig::set_env_var(std::string_view name, std::string_view value) {
  auto env = this->env();
  std::string entry = std::string(name) + "=" + std::string(value);
  auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) {
    return e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=';
  });
  if (it != env.end()) *it = entry;
  else env.push_back(entry);
  set_env(env);
}

std::optional<std::string> ImageConfig::env_var(std::string_view name) const {
  for (auto& e : env())
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return std::nullopt;
}

std::optional<std::vector<std::string>> ImageConfig::entrypoint() const {
  return string_list(container_config_or_null(), "Entrypoint");
}
void ImageConfig::set_entrypoint(const std::optional<std::vector<std::string>>& v) {
  if (v) container_config()["Entrypoint"] = *v;
  else container_config().erase("Entrypoint");
}
std::optional<std::vector<std::string>> ImageConfig::cmd() const {
  return string_list(container_config_or_null(), "Cmd");
}
void ImageConfig::set_cmd(const std::optional<std::vector<std::string>>& v) {
  if (v) container_config()["Cmd"] = *v;
  else container_config().erase("Cmd");
}
std::string ImageConfig::working_dir() const {
  return string_or_empty(container_config_or_null(), "WorkingDir");
}
void ImageConfig::set_working_dir(std::string_view dir) {
  container_config()["WorkingDir"] = std::string(dir);
}
std::string ImageConfig::user() const { return string_or_empty(container_config_or_null(), "User"); }
void ImageConfig::set_user(std::string_view user) { container_config()["User"] = std::string(user); }

std::map<std::string, std::string> ImageConfig::labels() const {
  std::map<std::string, std::string> out;
  auto* c = container_config_or_null();
  if (!c) return out;
  auto it = c->find("Labels");
  if (it == c->end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}
void ImageConfig::set_label(std::string_view key, std::string_view value) {
  auto& labels = container_config()["Labels"];
  if (!labels.is_object()) labels = Json::object();
  labels[std::string(key)] = std::string(value);
}

std::vector<std::string> ImageConfig::exposed_ports() const {
  std::vector<std::string> out;
  auto* c = container_config_or_null();
  if (!c) return out;
  auto it = c->find("ExposedPorts");
  if (it == c->end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items()) out.push_back(k);
  return out;
}
void ImageConfig::add_exposed_port(std::string_view port) {
  std::string p(port);
  if (p.find('/') == std::string::npos) p += "/tcp";
  auto& ports = container_config()["ExposedPorts"];
  if (!ports.is_object()) ports = Json::object();
  ports[p] = Json::object();
}

std::string ImageConfig::created() const { return string_or_empty(&doc_, "created"); }
void ImageConfig::set_created(std::string_view rfc3339) { doc_["created"] = std::string(rfc3339); }

}  // namespace de::oci
