// Registry authentication pieces that are pure functions over text: WWW-Authenticate challenges,
// Docker's config.json, credential helpers, and the Retry-After header.
//
// Credentials are secrets: no function here formats them into a message, and Credentials has no
// to_string(). Keep it that way in callers (log the registry host, never the header).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"

namespace de::registry {

// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."`.
struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case, values unquoted

  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// Parses a WWW-Authenticate header value (RFC 7235: several challenges, quoted-string values with
// backslash escapes). Fails with InvalidArgument on malformed input.
Result<std::vector<Challenge>> parse_challenges(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token (`docker login` with an identity token; helpers answer Username
  // "<token>"). When set, tokens are requested with grant_type=refresh_token.
  std::string identity_token;

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
  // "USER:PASS" as given to --creds; the password may contain ':'.
  static Result<Credentials> parse_user_pass(std::string_view text);
};

// What docker's config.json says about registries.
struct DockerConfig {
  std::map<std::string, Credentials>
      auths;                // key as written ("https://index.docker.io/v1/", "host:port")
  std::string creds_store;  // "desktop", "pass", ... (docker-credential-<name>)
  std::map<std::string, std::string> cred_helpers;  // registry host -> helper name

  // Parses config.json text; `auth` is base64("user:pass"). Fails with InvalidArgument on bad
  // JSON or a bad `auth` value (naming the registry, never the value).
  static Result<DockerConfig> parse(std::string_view json);
  // Reads the file; a missing file is an empty config.
  static Result<DockerConfig> load(const std::filesystem::path& path);
};

// Runs `docker-credential-<helper> get` with `server` on stdin. nullopt when the helper says it
// has no credentials for that server. Fails (Auth) when the helper is missing or fails otherwise.
using CredentialHelper = std::function<Result<std::optional<Credentials>>(
    const std::string& helper, const std::string& server)>;
Result<std::optional<Credentials>> run_credential_helper(const std::string& helper,
                                                         const std::string& server);

// Credentials for a registry domain ("docker.io", "localhost:5000") the way docker looks them
// up: credHelpers[domain], else credsStore, else auths (keys compared after stripping scheme and
// path; Docker Hub also under index.docker.io and registry-1.docker.io).
Result<std::optional<Credentials>> lookup_credentials(
    const DockerConfig& config, std::string_view domain,
    const CredentialHelper& helper = run_credential_helper);

// Base64 (standard alphabet, padded), used for config.json's `auth` and Basic headers.
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace de::registry
