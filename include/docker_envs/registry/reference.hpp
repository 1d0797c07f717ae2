// Image references as Docker parses them (distribution/reference "normalized named" rules):
//
//   ubuntu                      -> docker.io/library/ubuntu:latest
//   user/app:1.0                -> docker.io/user/app:1.0
//   localhost:5000/app          -> localhost:5000/app:latest
//   ghcr.io/o/r@sha256:<hex>    -> by digest, no tag
//   repo:tag@sha256:<hex>       -> tag kept for display; the digest decides what is fetched
//
// The first path component is a registry host when it contains '.' or ':', is "localhost", or
// has an upper-case letter; otherwise the image lives on Docker Hub. Repository paths must be
// lower case.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"

namespace de::registry {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
// Docker Hub's registry API lives on a different host than its name.
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";
// The key `docker login` uses for Docker Hub in config.json and credential helpers.
inline constexpr std::string_view kDockerHubConfigKey = "https://index.docker.io/v1/";

struct Reference {
  std::string domain;      // "docker.io", "localhost:5000", "[::1]:5000"
  std::string repository;  // "library/ubuntu"
  std::string tag;         // empty when only a digest was given
  std::optional<Digest> digest;

  // Parses and normalises; fails with InvalidArgument and a message saying what is wrong.
  static Result<Reference> parse(std::string_view text);

  // Fully qualified: "docker.io/library/ubuntu:latest", "host/repo:tag@sha256:...".
  std::string to_string() const;
  // As Docker prints it: "ubuntu:latest", "user/app:1.0", "localhost:5000/app:latest".
  std::string familiar() const;
  // "docker.io/library/ubuntu".
  std::string name() const { return domain + "/" + repository; }
  // The host (and port) to talk to: registry-1.docker.io for docker.io.
  std::string api_host() const;
  // What goes after /manifests/: the digest when there is one, else the tag.
  std::string identifier() const;
  // The same repository with another tag or digest.
  Reference with_tag(std::string_view new_tag) const;
  Reference with_digest(const Digest& d) const;

  friend auto operator<=>(const Reference&, const Reference&) = default;
  friend bool operator==(const Reference&, const Reference&) = default;
};

// True for hosts that are plain-HTTP-capable by default: localhost, 127.0.0.0/8, ::1 (port
// ignored).
bool is_loopback_host(std::string_view host);

}  // namespace de::registry
