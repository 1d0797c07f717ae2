// PEP 691 project pages (application/vnd.pypi.simple.v1+json).
#include <nlohmann/json.hpp>

#include "docker_envs/pypi/simple_api.hpp"
#include "pypi/simple_internal.hpp"
#include "pypi/text.hpp"

namespace de::pypi {

namespace {

using nlohmann::json;

// `hashes`-style objects: {"sha256": "..."}; non-string values are skipped.
void read_hashes(const json& j, std::map<std::string, std::string>& out) {
  if (!j.is_object()) return;
  for (const auto& [algo, value] : j.items())
    if (value.is_string()) out[to_lower(algo)] = to_lower(value.get<std::string>());
}

}  // namespace

Result<ProjectPage> parse_simple_json(std::string_view text, std::string_view page_url) {
  if (text.size() > detail::kMaxPageBytes)
    return fail(Code::Corruption, "{}: the page is larger than 64 MiB", page_url);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::Corruption, "{}: the project page is not a JSON object", page_url);
  auto meta = j.find("meta");
  if (meta == j.end() || !meta->is_object() || !meta->contains("api-version") ||
      !(*meta)["api-version"].is_string())
    return fail(Code::Corruption, "{}: no meta.api-version in the project page", page_url);
  std::string api = (*meta)["api-version"].get<std::string>();
  if (!api.starts_with("1.") && api != "1")
    return fail(Code::Unsupported, "{}: simple API version {} (only 1.x is understood)", page_url,
                api);
  auto files = j.find("files");
  if (files == j.end() || !files->is_array())
    return fail(Code::Corruption, "{}: no files array in the project page", page_url);
  if (files->size() > detail::kMaxFiles)
    return fail(Code::Corruption, "{}: more than {} files", page_url, detail::kMaxFiles);
  ProjectPage page;
  for (const auto& f : *files) {
    if (!f.is_object()) continue;
    auto filename = f.find("filename");
    auto url = f.find("url");
    if (filename == f.end() || !filename->is_string() || url == f.end() || !url->is_string())
      continue;
    DistributionFile file;
    if (!detail::set_link(file, page_url, url->get<std::string>(), filename->get<std::string>()))
      continue;
    if (auto h = f.find("hashes"); h != f.end()) read_hashes(*h, file.hashes);
    if (auto rp = f.find("requires-python"); rp != f.end() && rp->is_string())
      detail::set_requires_python(file, rp->get<std::string>());
    if (auto y = f.find("yanked"); y != f.end()) {
      if (y->is_boolean()) {
        file.yanked = y->get<bool>();
      } else if (y->is_string()) {
        file.yanked = true;
        file.yanked_reason = y->get<std::string>();
      }
    }
    // PEP 714's name first, then PEP 658's original one.
    auto cm = f.find("core-metadata");
    if (cm == f.end()) cm = f.find("dist-info-metadata");
    if (cm != f.end()) {
      if (cm->is_boolean()) {
        file.has_core_metadata = cm->get<bool>();
      } else if (cm->is_object()) {
        file.has_core_metadata = true;
        read_hashes(*cm, file.core_metadata_hashes);
      }
    }
    page.files.push_back(std::move(file));
  }
  return page;
}

}  // namespace de::pypi
