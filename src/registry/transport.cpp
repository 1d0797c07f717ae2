#include "registry/transport.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "docker_envs/base/log.hpp"
#include "docker_envs/base/text.hpp"
#include "docker_envs/base/redact.hpp"

namespace de::registry {

std::string repository_scope(std::string_view repository, bool push) {
  return fmt::format("repository:{}:{}", repository, push ? "pull,push" : "pull");
}

Error response_error(const http::Response& response, std::string_view what) {
  std::string details;
  nlohmann::json j = nlohmann::json::parse(response.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      if (!details.empty()) details += "; ";
      // A registry's answer is untrusted: json::value() throws on a non-string field.
      auto text = [&](const char* key) {
        auto it = e.find(key);
        return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      std::string error_code = text("code"), message = text("message");
      details += error_code.empty() ? "UNKNOWN" : error_code;
      if (!message.empty()) details += ": " + message;
    }
  }
  Code code = Code::InvalidArgument;
  std::string hint;
  switch (response.status) {
    case 401:
      code = Code::Auth;
      hint = "authentication required or credentials rejected";
      break;
    case 403:
      code = Code::Auth;
      hint = "access denied";
      break;
    case 404:
      code = Code::NotFound;
      hint = "not found";
      break;
    default:
      if (is_transient_status(response.status)) code = Code::Network;
      break;
  }
  std::string message = fmt::format("{}: HTTP {}", what, response.status);
  if (!hint.empty()) message += " (" + hint + ")";
  if (!details.empty()) message += ": " + details;
  return Error(code, message);
}

RegistryClient::RegistryClient(std::string domain, const RegistryOptions& options)
    : domain_(std::move(domain)), options_(options) {
  host_ = domain_ == kDockerHubDomain ? std::string(kDockerHubApiHost) : domain_;
  insecure_ = std::find(options_.insecure_registries.begin(), options_.insecure_registries.end(),
                        domain_) != options_.insecure_registries.end() ||
              std::find(options_.insecure_registries.begin(), options_.insecure_registries.end(),
                        host_) != options_.insecure_registries.end();
  breaker_ = std::make_shared<http::HostBreaker>(std::max(options_.max_attempts, 1));
}

std::unique_ptr<http::Session> RegistryClient::new_session() const {
  http::SessionOptions o;
  o.verify_tls = !insecure_;
  o.extra_ca_file = options_.ca_file;
  o.connect_timeout = options_.connect_timeout;
  o.stall_timeout = options_.stall_timeout;
  o.breaker = breaker_;
  return std::make_unique<http::Session>(o);
}

const std::optional<Credentials>& RegistryClient::credentials() {
  // Called with mutex_ held.
  if (!credentials_resolved_) {
    credentials_resolved_ = true;
    if (options_.credentials && !options_.credentials->empty()) {
      credentials_ = options_.credentials;
    } else if (options_.docker_config) {
      auto found = lookup_credentials(*options_.docker_config, domain_, options_.credential_helper);
      if (found)
        credentials_ = *found;
      else
        log::warn("looking up credentials for {}: {}", domain_, found.error().to_string());
    }
    log::debug("registry {}: {}", domain_, credentials_ ? "using stored credentials" : "anonymous");
  }
  return credentials_;
}

Error RegistryClient::error_for(const http::Response& response, std::string_view what) {
  Error e = response_error(response, what);
  if (response.status != 401) return e;
  std::lock_guard lock(mutex_);
  const auto& creds = credentials();
  std::string hint =
      creds ? fmt::format("the registry {} rejected the credentials", domain_)
            : fmt::format("no credentials for {} (use --creds USER:PASSWORD or docker login)",
                          domain_);
  return Error(Code::Auth, e.message() + "; " + hint);
}

http::RetryPolicy RegistryClient::retry_policy() const {
  return {.max_attempts = options_.max_attempts,
          .initial_backoff = options_.initial_backoff,
          .max_backoff = options_.max_backoff,
          .jitter = true,
          .max_retry_after = options_.max_retry_after};
}

bool RegistryClient::backoff(int attempt, const http::Response* response, std::string_view url,
                             std::string_view reason, const Cancellation* cancel) const {
  std::optional<std::chrono::seconds> retry_after;
  if (response)
    if (auto ra = response->header("Retry-After")) retry_after = http::parse_retry_after(*ra);
  std::string status = response ? fmt::format("HTTP {}", response->status) : "no response";
  return http::wait_before_retry(retry_policy(), attempt, retry_after,
                                 {.url = url.empty() ? std::string_view(domain_) : url,
                                  .reason = reason.empty() ? std::string_view(status) : reason},
                                 cancel);
}

bool RegistryClient::learn_challenge(const http::Response& response) {
  // Called with mutex_ held.
  auto header = response.header("WWW-Authenticate");
  if (!header) return false;
  auto challenges = parse_challenges(*header);
  if (!challenges) {
    log::debug("registry {}: {}", domain_, challenges.error().to_string());
    return false;
  }
  for (auto& c : *challenges) {
    if (c.scheme == "bearer" && !c.param("realm").empty()) {
      kind_ = AuthKind::Bearer;
      realm_ = c.param("realm");
      service_ = c.param("service");
      return true;
    }
  }
  for (auto& c : *challenges) {
    if (c.scheme == "basic") {
      kind_ = AuthKind::Basic;
      return true;
    }
  }
  return false;
}

namespace {
// Hosts that answered a ping over plain HTTP in this process: another client of the same
// registry (a build's push after it read a cache there) asks there first instead of failing a TLS
// handshake again (loading the CA store for it costs tens of milliseconds). Only an order: when
// the host no longer answers plain HTTP, HTTPS is tried as always.
std::mutex plain_http_mutex;
std::set<std::string> plain_http_hosts;
}  // namespace

Result<std::string> RegistryClient::ping(http::Session& session) {
  bool may_use_http = insecure_ || is_loopback_host(host_);
  std::vector<std::string> bases{"https://" + host_};
  if (may_use_http) {
    std::lock_guard lock(plain_http_mutex);
    bases.insert(plain_http_hosts.contains(host_) ? bases.begin() : bases.end(), "http://" + host_);
  }
  std::optional<Error> first_error;
  for (auto& base : bases) {
    for (int attempt = 1;; ++attempt) {
      auto r = session.perform(http::Request{.url = base + "/v2/"});
      if (!r) {
        const std::string& msg = r.error().error.message();
        if (msg.find("TLS verification") != std::string::npos)
          return std::unexpected(
              std::move(r.error().error).add_context("contacting registry " + host_));
        if (!first_error) first_error = r.error().error;
        // Loopback and insecure hosts: one scheme not answering is the cue to try the other.
        if (may_use_http && base != bases.back()) break;
        if (r.error().transient && retry_policy().may_retry(attempt)) {
          backoff(attempt, nullptr, base + "/v2/", r.error().error.message());
          continue;
        }
        if (base.starts_with("http://")) first_error = r.error().error;
        break;
      }
      // Asked first only because it answered before: anything but a registry's answer (a TLS
      // server's "HTTP request to an HTTPS server") sends us to HTTPS.
      if (base.starts_with("http://") && base != bases.back() && r->status != 200 &&
          r->status != 401)
        break;
      if (is_transient_status(r->status) && retry_policy().may_retry(attempt)) {
        backoff(attempt, &*r, base + "/v2/");
        continue;
      }
      if (r->status >= 500)
        return std::unexpected(response_error(*r, "contacting " + base + "/v2/"));
      std::lock_guard lock(mutex_);
      if (r->status == 401) {
        if (!learn_challenge(*r)) kind_ = AuthKind::Basic;  // 401 without a usable challenge
      } else {
        kind_ = AuthKind::None;
      }
      if (base.starts_with("http://")) {
        std::lock_guard plain_lock(plain_http_mutex);
        plain_http_hosts.insert(host_);
      }
      log::debug("registry {}: API at {} (auth: {})", domain_, base,
                 kind_ == AuthKind::Bearer  ? "bearer token"
                 : kind_ == AuthKind::Basic ? "basic"
                                            : "none");
      return base;
    }
  }
  Error e = first_error ? *first_error : Error(Code::Network, "no response");
  return std::unexpected(std::move(e).add_context("contacting registry " + host_));
}

Result<std::string> RegistryClient::base_url(http::Session& session) {
  std::lock_guard ping_lock(ping_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (base_) return *base_;
  }
  std::string base = DE_TRY(ping(session));
  std::lock_guard lock(mutex_);
  base_ = base;
  return base;
}

Result<std::string> RegistryClient::resolve(http::Session& session, std::string_view location) {
  if (location.starts_with("http://") || location.starts_with("https://"))
    return std::string(location);
  std::string base = DE_TRY(base_url(session));
  if (!location.starts_with('/')) return base + "/" + std::string(location);
  return base + std::string(location);
}

Result<RegistryClient::Token> RegistryClient::fetch_token(http::Session& session,
                                                          const std::vector<std::string>& scopes) {
  // Called with mutex_ held.
  const auto& creds = credentials();
  http::Request req;
  std::string query = "service=" + percent_encode(service_);
  for (auto& s : scopes) query += "&scope=" + percent_encode(s);
  if (creds && !creds->identity_token.empty()) {
    // OAuth2 refresh-token grant (docker login with an identity token).
    req.method = "POST";
    req.url = realm_;
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=docker-envs&refresh_token=" +
               percent_encode(creds->identity_token) + "&" + query;
  } else {
    req.url = realm_ + (realm_.find('?') == std::string::npos ? "?" : "&") + query;
    if (creds)
      req.headers.push_back("Authorization: Basic " +
                            base64_encode(creds->username + ":" + creds->password));
  }
  std::string what = fmt::format("getting a token for {} from {}", domain_, realm_);
  http::Response r;
  for (int attempt = 1;; ++attempt) {
    auto got = session.perform(req);
    if (!got) {
      if (got.error().transient && retry_policy().may_retry(attempt)) {
        backoff(attempt, nullptr, realm_, got.error().error.message());
        continue;
      }
      return std::unexpected(std::move(got.error().error).add_context(what));
    }
    if (is_transient_status(got->status) && retry_policy().may_retry(attempt)) {
      backoff(attempt, &*got, realm_);
      continue;
    }
    r = std::move(*got);
    break;
  }
  if (r.status == 401 || r.status == 403)
    return fail(Code::Auth, "{}: the token service refused {} (HTTP {})", what,
                creds ? "the credentials" : "anonymous access", r.status);
  if (r.status != 200) return std::unexpected(response_error(r, what));
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::Auth, "{}: the answer is not JSON", what);
  Token t;
  t.value = j.value("token", std::string());
  if (t.value.empty()) t.value = j.value("access_token", std::string());
  if (t.value.empty()) return fail(Code::Auth, "{}: the answer has no token", what);
  // From 60 s (the distribution spec's default, and its minimum) to a day: a larger value would
  // overflow the clock's arithmetic, and no token server means one longer.
  long long expires = 60;
  if (auto e = j.find("expires_in"); e != j.end() && e->is_number_unsigned())
    expires = static_cast<long long>(std::clamp<std::uint64_t>(e->get<std::uint64_t>(), 60, 86400));
  // Renew a little early so a token does not expire between check and use.
  t.expires = std::chrono::steady_clock::now() + std::chrono::seconds(expires - 10);
  return t;
}

Result<std::string> RegistryClient::authorization(http::Session& session,
                                                  const std::vector<std::string>& scopes,
                                                  bool force_new_token) {
  std::lock_guard lock(mutex_);
  switch (kind_) {
    case AuthKind::Unknown:
    case AuthKind::None:
      return std::string();
    case AuthKind::Basic: {
      const auto& creds = credentials();
      if (!creds || creds->username.empty()) return std::string();
      return "Authorization: Basic " + base64_encode(creds->username + ":" + creds->password);
    }
    case AuthKind::Bearer: {
      std::vector<std::string> sorted = scopes;
      std::sort(sorted.begin(), sorted.end());
      std::string key = fmt::format("{}", fmt::join(sorted, " "));
      auto it = tokens_.find(key);
      if (force_new_token || it == tokens_.end() ||
          it->second.expires <= std::chrono::steady_clock::now()) {
        Token t = DE_TRY(fetch_token(session, sorted));
        it = tokens_.insert_or_assign(key, std::move(t)).first;
      }
      return "Authorization: Bearer " + it->second.value;
    }
  }
  return std::string();
}

std::expected<http::Response, http::TransferError> RegistryClient::attempt(
    http::Session& session, http::Request request, const std::vector<std::string>& scopes) {
  auto as_transfer_error = [](Error e) {
    return std::unexpected(http::TransferError{std::move(e)});
  };
  auto base = base_url(session);
  if (!base) return as_transfer_error(std::move(base).error());
  if (!request.url.starts_with("http")) {
    auto url = resolve(session, request.url);
    if (!url) return as_transfer_error(std::move(url).error());
    request.url = *url;
  }
  std::vector<std::string> base_headers = request.headers;
  // A 401 body never reaches the sink (only 2xx bodies do), so only a streamed request body
  // prevents sending again.
  bool resendable = request.body_reader == nullptr;
  bool force_new = false;
  for (int round = 0; round < 2; ++round) {
    auto auth = authorization(session, scopes, force_new);
    if (!auth) return as_transfer_error(std::move(auth).error());
    request.headers = base_headers;
    if (!auth->empty()) request.headers.push_back(*auth);
    auto r = session.perform(request);
    if (!r || r->status != 401 || !resendable || round == 1) return r;
    // 401: learn (maybe the registry asks for bearer tokens only for some repositories), renew.
    std::lock_guard lock(mutex_);
    AuthKind before = kind_;
    bool learned = learn_challenge(*r);
    if (!learned) return r;
    if (kind_ == AuthKind::Basic && (!credentials() || credentials()->username.empty())) return r;
    force_new = kind_ == AuthKind::Bearer && before == AuthKind::Bearer;
    if (kind_ == AuthKind::Basic && before == AuthKind::Basic) return r;  // rejected credentials
  }
  return std::unexpected(http::TransferError{Error(Code::Internal, "unreachable")});
}

Result<http::Response> RegistryClient::send(http::Session& session, http::Request request,
                                            const std::vector<std::string>& scopes) {
  bool retryable = request.body_reader == nullptr && request.sink == nullptr;
  for (int n = 1;; ++n) {
    auto r = attempt(session, request, scopes);
    bool last = !retryable || !retry_policy().may_retry(n);
    if (!r) {
      if (r.error().transient && !last &&
          backoff(n, nullptr, request.url, r.error().error.message(), request.cancel))
        continue;
      return std::unexpected(std::move(r.error().error));
    }
    if (is_transient_status(r->status) && !last && backoff(n, &*r, request.url, {}, request.cancel))
      continue;
    return std::move(*r);
  }
}

}  // namespace de::registry
