// Private: what the HTML (simple_html.cpp) and JSON (simple_json.cpp) readers of a project page
// share: turning a link into a DistributionFile's URL, file name, hashes and Requires-Python.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "docker_envs/pypi/simple_api.hpp"

namespace de::pypi::detail {

inline constexpr std::size_t kMaxPageBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxFiles = 1'000'000;

// Sets file.url (absolute, without fragment) and, from a `#<algo>=<hex>` fragment, file.hashes.
// When `filename` is empty the URL's last path segment (percent-decoded) names the file. False
// when the link cannot be a file (no path segment, or a name holding '/' or NUL).
bool set_link(DistributionFile& file, std::string_view page_url, std::string_view href,
              std::string_view filename = {});

// Sets requires_python_text and, when it parses, requires_python.
void set_requires_python(DistributionFile& file, std::string_view text);

// "%2B" -> "+"; a `%` not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view s);

// "file:///a/b%20c" (or file://localhost/...) -> "/a/b c"; "" for anything else.
std::string file_url_path(std::string_view url);

// "sha256=ABC" -> {"sha256", "abc"}; false when not `<name>=<value>`.
bool parse_hash_pair(std::string_view text, std::string& algo, std::string& hex);

}  // namespace de::pypi::detail
