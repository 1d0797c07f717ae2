// IndexTransport over the library's HTTP layer (ffi::http sessions and the shared retry policy of
// ffi/http_retry.hpp), and file:// from the file system.
#include <filesystem>

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/index_client.hpp"
#include "ffi/http.hpp"
#include "ffi/http_retry.hpp"
#include "pypi/simple_internal.hpp"

namespace de::pypi {

namespace {

namespace http = de::ffi::http;

class LibraryTransport final : public IndexTransport {
 public:
  explicit LibraryTransport(const IndexTransportOptions& options)
      : options_(options),
        session_(http::SessionOptions{.verify_tls = true,
                                      .extra_ca_file = options.extra_ca_file,
                                      .connect_timeout = options.connect_timeout,
                                      .stall_timeout = options.stall_timeout}) {}

  Result<IndexResponse> get(const std::string& url, std::string_view accept) override {
    if (url.starts_with("file://")) return get_file(url);
    if (!url.starts_with("http://") && !url.starts_with("https://"))
      return fail(Code::Unsupported, "cannot fetch '{}': not an http(s) or file URL",
                  redact_url(url));
    const http::RetryPolicy policy{.max_attempts = options_.max_attempts,
                                   .initial_backoff = options_.initial_backoff,
                                   .max_backoff = options_.initial_backoff * 64,
                                   .jitter = true,
                                   .max_retry_after = std::chrono::seconds(60)};
    for (int attempt = 1;; ++attempt) {
      // One byte more than allowed, so that a truncated (too large) body is seen.
      http::Request request{.url = url, .max_body = options_.max_body + 1};
      request.headers.push_back("Accept: " + std::string(accept));
      auto r = session_.perform(request);
      if (!r) {
        if (r.error().transient && policy.may_retry(attempt)) {
          http::wait_before_retry(policy, attempt, std::nullopt);
          continue;
        }
        // The wrapper's message carries the raw URL: show it redacted.
        std::string shown = redact_url(url);
        std::string message = r.error().error.message();
        for (auto pos = message.find(url); pos != std::string::npos;
             pos = message.find(url, pos + shown.size()))
          message.replace(pos, url.size(), shown);
        return fail(Code::Network, "fetching {} (attempt {} of {}): {}", shown, attempt,
                    options_.max_attempts, message);
      }
      if (http::is_transient_status(r->status) && policy.may_retry(attempt)) {
        auto retry_after = r->header("Retry-After");
        http::wait_before_retry(policy, attempt,
                                retry_after ? http::parse_retry_after(*retry_after) : std::nullopt);
        continue;
      }
      if (r->body.size() > options_.max_body)
        return fail(Code::Corruption, "{}: larger than {} bytes", redact_url(url),
                    options_.max_body);
      return IndexResponse{.status = r->status,
                           .content_type = r->header("Content-Type").value_or(""),
                           .body = std::move(r->body),
                           .url = r->effective_url.empty() ? url : r->effective_url};
    }
  }

 private:
  Result<IndexResponse> get_file(const std::string& url) {
    std::string path = detail::file_url_path(url);
    if (path.empty())
      return fail(Code::InvalidArgument, "'{}' is not a file:// URL with an absolute path",
                  redact_url(url));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      return IndexResponse{.status = 404, .content_type = "", .body = "", .url = url};
    auto body = DE_TRY(read_file(path, options_.max_body));
    bool json = path.ends_with(".json");
    return IndexResponse{.status = 200,
                         .content_type = json ? std::string(kSimpleJsonV1) : "text/html",
                         .body = std::move(body),
                         .url = url};
  }

  IndexTransportOptions options_;
  http::Session session_;
};

}  // namespace

std::unique_ptr<IndexTransport> make_index_transport(const IndexTransportOptions& options) {
  return std::make_unique<LibraryTransport>(options);
}

}  // namespace de::pypi
