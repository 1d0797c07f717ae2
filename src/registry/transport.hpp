// Private: one registry host as the client sees it — its base URL (https, or http for loopback
// and insecure hosts), how it authenticates (none, basic, bearer tokens per scope), and the
// retry loops for transient failures (the policy itself is ffi/http_retry.hpp's, shared with
// conda's HttpFetcher).
//
// Thread-safety: a RegistryClient is shared by the worker threads of one pull or push; its auth
// state is guarded by a mutex. HTTP sessions are not shared: each thread makes its own with
// new_session() and passes it in.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "docker_envs/registry/client.hpp"
#include "ffi/http.hpp"
#include "ffi/http_retry.hpp"

namespace de::registry {

namespace http = ffi::http;

// "repository:NAME:pull" / "repository:NAME:pull,push".
std::string repository_scope(std::string_view repository, bool push);

// An error for a registry response that was not what the caller wanted: the status, the
// distribution error codes and messages, mapped to a Code (401/403 Auth, 404 NotFound, 429/5xx
// Network, else InvalidArgument). `what` names the operation ("fetching manifest ...").
Error response_error(const http::Response& response, std::string_view what);

// 408/429/5xx (the policy is ffi/http_retry.hpp's).
using http::is_transient_status;

class RegistryClient {
 public:
  RegistryClient(std::string domain, const RegistryOptions& options);

  const std::string& domain() const { return domain_; }
  const std::string& host() const { return host_; }
  const RegistryOptions& options() const { return options_; }
  std::unique_ptr<http::Session> new_session() const;

  // "https://host" or "http://host", found on first use by pinging /v2/ (which also learns the
  // authentication scheme).
  Result<std::string> base_url(http::Session& session);
  // An absolute URL for a path ("/v2/...") or a Location header value (absolute or relative).
  Result<std::string> resolve(http::Session& session, std::string_view location);

  // One attempt of `request` with authorisation for `scopes`; a 401 is answered once (new token,
  // or basic credentials) when the request body can be sent again.
  std::expected<http::Response, http::TransferError> attempt(
      http::Session& session, http::Request request, const std::vector<std::string>& scopes);

  // attempt() retried on transient failures (transfer errors, 408/429/5xx) with backoff and
  // Retry-After. Requests with a streaming body or sink are not retried here (the caller
  // restarts them: see pull.cpp / push.cpp). Returns the final response whatever its status.
  Result<http::Response> send(http::Session& session, http::Request request,
                              const std::vector<std::string>& scopes);

  // response_error() plus, for 401, whether credentials were sent (and where they came from).
  Error error_for(const http::Response& response, std::string_view what);

  // The retry policy of the options (jittered backoff, Retry-After up to max_retry_after).
  http::RetryPolicy retry_policy() const;
  // Sleeps before retry number `attempt` (1 = first retry), honouring Retry-After of `response`;
  // `-v` shows the retry (of `url`, this registry when empty) and its `reason` (the response's
  // status when empty). False, early, when `cancel` is cancelled: the caller gives up.
  bool backoff(int attempt, const http::Response* response, std::string_view url = {},
               std::string_view reason = {}, const Cancellation* cancel = nullptr) const;

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  enum class AuthKind { Unknown, None, Basic, Bearer };

  Result<std::string> ping(http::Session& session);
  // The Authorization header for scopes (empty when none is needed).
  Result<std::string> authorization(http::Session& session, const std::vector<std::string>& scopes,
                                    bool force_new_token);
  Result<Token> fetch_token(http::Session& session, const std::vector<std::string>& scopes);
  // Learns from a 401's challenges; false when nothing can be done about it.
  bool learn_challenge(const http::Response& response);
  const std::optional<Credentials>& credentials();

  std::string domain_, host_;
  RegistryOptions options_;
  bool insecure_ = false;
  // Shared by this client's sessions: a registry no attempt could reach is given up on after as
  // many attempts as one request gets (http_retry.hpp).
  std::shared_ptr<http::HostBreaker> breaker_;
  std::mutex mutex_;  // guards everything below
  std::optional<std::string> base_;
  AuthKind kind_ = AuthKind::Unknown;
  std::string realm_, service_;
  std::map<std::string, Token> tokens_;  // by space-joined sorted scopes
  bool credentials_resolved_ = false;
  std::optional<Credentials> credentials_;
  std::mutex ping_mutex_;  // one ping at a time (taken before mutex_)
};

}  // namespace de::registry
