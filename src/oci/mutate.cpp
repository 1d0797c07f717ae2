#include "docker_envs/oci/mutate.hpp"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

namespace de::oci {
namespace {

constexpr const char* kPaddedHistoryComment = "history absent in the source image";

size_t count_layer_entries(const std::vector<HistoryEntry>& history) {
  size_t n = 0;
  for (auto& h : history)
    if (!h.empty_layer) ++n;
  return n;
}

// Makes the non-empty history entries match `layer_count` (see the header for the rule).
std::vector<HistoryEntry> normalized_history(const ImageConfig& config, size_t layer_count) {
  auto history = config.history();
  size_t have = count_layer_entries(history);
  if (have > layer_count) {
    size_t surplus = have - layer_count;
    for (auto it = history.rbegin(); it != history.rend() && surplus > 0; ++it) {
      if (it->empty_layer) continue;
      it->empty_layer = true;
      --surplus;
    }
  }
  for (; have < layer_count; ++have)
    history.push_back(HistoryEntry{.comment = kPaddedHistoryComment});
  return history;
}

// The config's diff_ids padded or cut to one per layer; unknown ones come from the layers when
// they know them, else the zero placeholder.
std::vector<Digest> aligned_diff_ids(const Image& image) {
  std::vector<Digest> ids = image.config.diff_ids().value_or(std::vector<Digest>{});
  ids.resize(image.layers.size());
  for (size_t i = 0; i < image.layers.size(); ++i) {
    if (!image.layers[i]) continue;
    if (auto id = image.layers[i]->diff_id()) ids[i] = *id;
  }
  return ids;
}

std::string json_array(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

}  // namespace

Image append_layer(Image image, LayerPtr layer, HistoryEntry history) {
  auto entries = normalized_history(image.config, image.layers.size());
  auto ids = aligned_diff_ids(image);
  ids.push_back(layer && layer->diff_id() ? *layer->diff_id() : Digest());
  image.layers.push_back(std::move(layer));
  history.empty_layer = false;
  entries.push_back(std::move(history));
  image.config.set_diff_ids(ids);
  image.config.set_history(entries);
  image.forget_source_bytes();
  return image;
}

Result<Image> remove_layer(Image image, std::optional<size_t> index) {
  size_t n = image.layers.size();
  if (n == 0) return fail(Code::InvalidArgument, "the image has no layers to remove");
  size_t i = index.value_or(n - 1);
  if (i >= n)
    return fail(Code::InvalidArgument, "layer index {} is out of range (valid: 0-{}, 0 = bottom)",
                i, n - 1);
  auto entries = normalized_history(image.config, n);
  auto ids = aligned_diff_ids(image);
  size_t seen = 0;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->empty_layer) continue;
    if (seen++ == i) {
      entries.erase(it);
      break;
    }
  }
  ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(i));
  image.layers.erase(image.layers.begin() + static_cast<std::ptrdiff_t>(i));
  image.config.set_diff_ids(ids);
  image.config.set_history(entries);
  image.forget_source_bytes();
  return image;
}

Result<std::string> parse_port(std::string_view spec) {
  std::string_view number = spec, proto = "tcp";
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    number = spec.substr(0, slash);
    proto = spec.substr(slash + 1);
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp")
    return fail(Code::InvalidArgument, "port '{}': protocol must be tcp, udp or sctp", spec);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || value == 0 ||
      value > 65535)
    return fail(Code::InvalidArgument,
                "port '{}' must be a number 1-65535 with an optional /tcp, /udp or /sctp", spec);
  return std::to_string(value) + "/" + std::string(proto);
}

Result<Image> edit_config(Image image, const ConfigEdit& edit) {
  // Validate everything first so that a bad edit changes nothing.
  for (auto& [name, value] : edit.env) {
    if (name.empty()) return fail(Code::InvalidArgument, "environment variable name is empty");
    if (name.find('=') != std::string::npos)
      return fail(Code::InvalidArgument, "environment variable name '{}' contains '='", name);
  }
  for (auto& [key, value] : edit.labels)
    if (key.empty()) return fail(Code::InvalidArgument, "label key is empty (value '{}')", value);
  if (edit.workdir && !edit.workdir->empty() && edit.workdir->front() != '/')
    return fail(Code::InvalidArgument, "working directory '{}' must be an absolute path",
                *edit.workdir);
  std::vector<std::string> ports;
  for (auto& p : edit.expose) ports.push_back(DE_TRY(parse_port(p)));

  std::vector<std::string> described;
  auto& config = image.config;
  for (auto& [name, value] : edit.env) {
    config.set_env_var(name, value);
    described.push_back("ENV " + name + "=" + value);
  }
  if (edit.entrypoint) {
    config.set_entrypoint(edit.entrypoint->empty() ? std::nullopt : edit.entrypoint);
    described.push_back("ENTRYPOINT " + json_array(*edit.entrypoint));
  }
  if (edit.cmd) {
    config.set_cmd(edit.cmd->empty() ? std::nullopt : edit.cmd);
    described.push_back("CMD " + json_array(*edit.cmd));
  }
  if (edit.workdir) {
    config.set_working_dir(*edit.workdir);
    described.push_back("WORKDIR " + *edit.workdir);
  }
  if (edit.user) {
    config.set_user(*edit.user);
    described.push_back("USER " + *edit.user);
  }
  for (auto& [key, value] : edit.labels) {
    config.set_label(key, value);
    described.push_back("LABEL " + key + "=" + value);
  }
  for (auto& p : ports) {
    config.add_exposed_port(p);
    described.push_back("EXPOSE " + p);
  }

  auto entries = normalized_history(config, image.layers.size());
  HistoryEntry entry = edit.history;
  entry.empty_layer = true;
  if (entry.created_by.empty()) {
    std::string change = fmt::format("{}", fmt::join(described, "; "));
    const std::string& prefix = edit.created_by_prefix;
    entry.created_by = prefix.empty() ? change : change.empty() ? prefix : prefix + ": " + change;
  }
  entries.push_back(std::move(entry));
  config.set_history(entries);
  config.set_diff_ids(aligned_diff_ids(image));
  image.forget_source_bytes();
  return image;
}

void set_created(Image& image, std::string rfc3339) {
  image.config.set_created(rfc3339);
  image.forget_source_bytes();
}

std::string rfc3339_from_epoch(std::int64_t seconds) {
  using namespace std::chrono;
  sys_seconds tp{std::chrono::seconds(seconds)};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss<std::chrono::seconds> hms{tp - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace de::oci
