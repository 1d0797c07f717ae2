#include "docker_envs/conda/http_fetcher.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "ffi/http.hpp"
#include "ffi/http_retry.hpp"

namespace de::conda {

namespace http = de::ffi::http;

namespace {

bool is_http_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

}  // namespace

struct HttpFetcher::Impl {
  HttpFetcherOptions options;
  // One per fetcher (one run): a host no attempt could reach is given up on after as many
  // attempts as one URL gets, for all of its URLs.
  std::shared_ptr<http::HostBreaker> breaker;
  std::mutex mutex;
  std::vector<std::unique_ptr<http::Session>> idle;

  std::unique_ptr<http::Session> borrow() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto s = std::move(idle.back());
        idle.pop_back();
        return s;
      }
    }
    return std::make_unique<http::Session>(
        http::SessionOptions{.verify_tls = true,
                             .extra_ca_file = options.extra_ca_file,
                             .connect_timeout = options.connect_timeout,
                             .stall_timeout = options.stall_timeout,
                             .breaker = breaker});
  }
  void give_back(std::unique_ptr<http::Session> s) {
    std::lock_guard lock(mutex);
    if (idle.size() < 8) idle.push_back(std::move(s));
  }
};

HttpFetcher::HttpFetcher(const HttpFetcherOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->breaker = std::make_shared<http::HostBreaker>(std::max(options.max_attempts, 1));
}

HttpFetcher::~HttpFetcher() = default;

Result<std::unique_ptr<Reader>> HttpFetcher::open(const std::string& url) {
  StringWriter body;
  DE_TRY(fetch_to(url, body));
  if (body.str().size() > impl_->options.max_in_memory)
    return fail(Code::Corruption, "{}: larger than {} bytes", redact_url(url),
                impl_->options.max_in_memory);
  return std::unique_ptr<Reader>(std::make_unique<StringReader>(body.take()));
}

Result<FetchOutcome> HttpFetcher::fetch_to(const std::string& url, Writer& out,
                                           const FetchConditions& conditions) {
  std::string shown = redact_url(url);
  if (!is_http_url(url))
    return fail(Code::Unsupported, "cannot fetch '{}': not an http(s) URL", shown);
  auto session = impl_->borrow();
  struct GiveBack {
    Impl* impl;
    std::unique_ptr<http::Session>* s;
    ~GiveBack() {
      if (*s) impl->give_back(std::move(*s));
    }
  } give_back{impl_.get(), &session};

  const auto& o = impl_->options;
  // Doubling waits without jitter, capped at 64 times the first; Retry-After is not read.
  const http::RetryPolicy policy{.max_attempts = o.max_attempts,
                                 .initial_backoff = o.initial_backoff,
                                 .max_backoff = o.initial_backoff * 64,
                                 .jitter = false,
                                 .max_retry_after = std::nullopt};
  std::uint64_t written = 0;
  std::string last_problem;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1 &&
        !http::wait_before_retry(policy, attempt - 1, std::nullopt,
                                 {.url = url, .reason = last_problem}, conditions.cancel))
      return fail(Code::Network, "fetching {}: cancelled after {} attempt(s): {}", shown,
                  attempt - 1, last_problem);
    http::Request request{.url = url, .sink = &out, .cancel = conditions.cancel};
    http::resume_at(request, written);
    if (written == 0) {
      if (!conditions.etag.empty()) request.headers.push_back("If-None-Match: " + conditions.etag);
      if (!conditions.last_modified.empty())
        request.headers.push_back("If-Modified-Since: " + conditions.last_modified);
    }
    auto r = session->perform(request);
    if (!r) {
      written += r.error().sink_bytes;
      if (r.error().sink_failed) return std::unexpected(std::move(r.error().error));
      if (r.error().transient && !r.error().cancelled && policy.may_retry(attempt)) {
        last_problem = r.error().error.message();
        continue;
      }
      // The wrapper's message carries the raw URL: show it redacted.
      std::string message = r.error().error.message();
      for (auto pos = message.find(url); pos != std::string::npos;
           pos = message.find(url, pos + shown.size()))
        message.replace(pos, url.size(), shown);
      Error e(r.error().error.code(), std::move(message));
      return std::unexpected(std::move(e).add_context(
          fmt::format("fetching {} (attempt {} of {})", shown, attempt, o.max_attempts)));
    }
    long status = r->status;
    if (written > 0 && status == 200)
      return fail(Code::Network,
                  "fetching {}: the transfer broke after {} bytes and the server does not "
                  "support resuming it (Range)",
                  shown, written);
    if (status == 304 && written == 0) {
      FetchOutcome outcome{.not_modified = true};
      outcome.etag = r->header("ETag").value_or(conditions.etag);
      outcome.last_modified = r->header("Last-Modified").value_or(conditions.last_modified);
      return outcome;
    }
    if (status >= 200 && status < 300) {
      written += r->sink_bytes;
      FetchOutcome outcome{.bytes = written};
      outcome.etag = r->header("ETag").value_or("");
      outcome.last_modified = r->header("Last-Modified").value_or("");
      return outcome;
    }
    if (status == 404 || status == 410)
      return fail(Code::NotFound, "{}: HTTP {} (not found)", shown, status);
    if (status == 401 || status == 403)
      return fail(Code::Auth, "{}: HTTP {} (access denied; is a token needed or expired?)", shown,
                  status);
    if (http::is_transient_status(status) && policy.may_retry(attempt)) {
      last_problem = fmt::format("HTTP {}", status);
      continue;
    }
    return fail(Code::Network, "{}: HTTP {}{}", shown, status,
                attempt > 1 ? fmt::format(" after {} attempts", attempt) : std::string());
  }
}

namespace {

class AnyFetcher final : public Fetcher {
 public:
  explicit AnyFetcher(const HttpFetcherOptions& options) : http_(options) {}
  Result<std::unique_ptr<Reader>> open(const std::string& url) override {
    if (is_http_url(url)) return http_.open(url);
    return file_.open(url);
  }
  Result<FetchOutcome> fetch_to(const std::string& url, Writer& out,
                                const FetchConditions& conditions) override {
    if (is_http_url(url)) return http_.fetch_to(url, out, conditions);
    return file_.fetch_to(url, out, conditions);
  }
  std::optional<std::filesystem::path> local_path(const std::string& url) override {
    return file_.local_path(url);
  }

 private:
  FileFetcher file_;
  HttpFetcher http_;
};

}  // namespace

std::unique_ptr<Fetcher> make_fetcher(const HttpFetcherOptions& http_options) {
  return std::make_unique<AnyFetcher>(http_options);
}

}  // namespace de::conda
