// Descriptors, image manifests and indexes (OCI image-spec v1.1 and Docker schema 2), as values.
//
// parse() validates what the rest of the program relies on (digests, sizes, media types) and
// keeps unknown fields out; to_json() writes fields in a fixed order so that the same value always
// serialises to the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"

namespace de::oci {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64"
  std::string variant;       // "v8", "" when absent
  std::string os_version;
  std::vector<std::string> os_features;

  // "linux/amd64", "linux/arm64/v8".
  static Result<Platform> parse(std::string_view text);
  std::string to_string() const;
  // True when `this` (an image's platform) satisfies `wanted`; an empty variant in `wanted`
  // matches any, and arm64 without a variant matches v8.
  bool satisfies(const Platform& wanted) const;
  friend bool operator==(const Platform&, const Platform&) = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::string artifact_type;

  static Result<Descriptor> from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

struct Manifest {
  std::string media_type;  // kOciManifest or kDockerManifest (OCI when the document names none)
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
  std::optional<Descriptor> subject;
  std::string artifact_type;

  // Refuses schema 1 with a clear message, and indexes (use Index::parse).
  static Result<Manifest> parse(std::string_view json);
  // Canonical bytes: 3-space-free compact JSON with a fixed field order.
  std::string to_json() const;
};

struct Index {
  std::string media_type;  // kOciIndex or kDockerManifestList
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;

  static Result<Index> parse(std::string_view json);
  std::string to_json() const;
};

// Which kind of document a manifest body is: from its mediaType field or, where absent, its shape.
// Returns the media type or an error for documents that are not JSON objects.
Result<std::string> sniff_manifest_media_type(std::string_view json);

}  // namespace de::oci
