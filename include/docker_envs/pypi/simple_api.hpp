// The simple repository API: a project's page as HTML (PEP 503, with PEP 592 yanking and PEP
// 658/714 metadata files) or as JSON (PEP 691), read into one model.
//
// HTML: every `<a href>` is a file, named by the URL's last path segment (percent-decoded; PEP 503
// has the link text match it, and pip too goes by the URL); the URL is resolved against the
// page's URL (or its `<base href>`), and a `#<hash>=<hex>` fragment becomes a hash. `data-requires-python` (HTML-escaped),
// `data-yanked` (the value is the reason, possibly empty), `data-core-metadata` and its older
// spelling `data-dist-info-metadata` ("true" or "<hash>=<hex>") are read from the anchor.
// JSON: `meta.api-version` must be 1.x; `files[]` with filename, url, hashes, requires-python,
// yanked (bool or reason), core-metadata / dist-info-metadata (bool or hashes).
//
// The parsers are bounded (pages over 64 MiB and files past 1,000,000 are refused), throw
// nothing, and give a Corruption error naming the page URL for a document they cannot read.
// An unparseable Requires-Python is kept as text and ignored for selection (as pip does).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/pypi/specifier.hpp"

namespace de::pypi {

// The media types of PEP 691 content negotiation.
inline constexpr std::string_view kSimpleJsonV1 = "application/vnd.pypi.simple.v1+json";
inline constexpr std::string_view kSimpleHtmlV1 = "application/vnd.pypi.simple.v1+html";
// The Accept header a client sends: JSON preferred, then HTML (either spelling).
inline constexpr std::string_view kSimpleAccept =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01";

struct DistributionFile {
  std::string filename;
  std::string url;                            // absolute, without the fragment
  std::map<std::string, std::string> hashes;  // lower-case algorithm -> lower-case hex
  std::string requires_python_text;           // as served ("" when none)
  std::optional<SpecifierSet> requires_python;  // nullopt when none or unparseable
  bool yanked = false;
  std::string yanked_reason;
  bool has_core_metadata = false;  // PEP 658: `<url>.metadata` holds the METADATA file
  std::map<std::string, std::string> core_metadata_hashes;

  // The `.metadata` URL (PEP 658); only meaningful when has_core_metadata.
  std::string core_metadata_url() const { return url + ".metadata"; }
};

struct ProjectPage {
  std::vector<DistributionFile> files;
};

Result<ProjectPage> parse_simple_html(std::string_view html, std::string_view page_url);
Result<ProjectPage> parse_simple_json(std::string_view json, std::string_view page_url);

// Picks the parser from a response's Content-Type (PEP 691 JSON, else HTML).
Result<ProjectPage> parse_project_page(std::string_view body, std::string_view content_type,
                                       std::string_view page_url);

// RFC 3986 reference resolution (with dot-segment removal) of `ref` against `base`.
std::string resolve_url(std::string_view base, std::string_view ref);

}  // namespace de::pypi
