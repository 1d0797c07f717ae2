// IndexTransport over the library's HTTP layer (ffi::http sessions and the shared retry policy of
// ffi/http_retry.hpp), and file:// from the file system.
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "docker_envs/base/digest.hpp"

#include "docker_envs/base/io.hpp"
#include "docker_envs/base/redact.hpp"
#include "docker_envs/pypi/index_client.hpp"
#include "ffi/http.hpp"
#include "ffi/http_retry.hpp"
#include "pypi/simple_internal.hpp"

namespace de::pypi {

namespace {

namespace http = de::ffi::http;

// A kept answer and its validators.
struct CachedAnswer {
  IndexResponse response;
  std::string etag;
  std::string last_modified;
};

// <cache_dir>/pypi-http/<key>.json (validators, content type, the body's sha256) beside
// <key>.body. The body is written first, so a torn pair fails the sha256 check and is ignored.
class AnswerCache {
 public:
  explicit AnswerCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::optional<CachedAnswer> load(const std::string& url, std::string_view accept) const {
    std::string key = key_of(url, accept);
    auto meta_text = read_file(dir_ / (key + ".json"), 1 << 20);
    auto body = read_file(dir_ / (key + ".body"), std::size_t{1} << 30);
    if (!meta_text || !body) return std::nullopt;
    auto meta = nlohmann::json::parse(*meta_text, nullptr, false);
    if (meta.is_discarded() || !meta.is_object()) return std::nullopt;
    auto text = [&](const char* field) {
      auto it = meta.find(field);
      return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (text("body_sha256") != Digest::of(*body).hex()) return std::nullopt;
    return CachedAnswer{.response = {.status = 200,
                                     .content_type = text("content_type"),
                                     .body = std::move(*body),
                                     .url = url},
                        .etag = text("etag"),
                        .last_modified = text("last_modified")};
  }

  void store(const std::string& url, std::string_view accept, const CachedAnswer& answer) const {
    std::string key = key_of(url, accept);
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    nlohmann::json meta{{"content_type", answer.response.content_type},
                        {"etag", answer.etag},
                        {"last_modified", answer.last_modified},
                        {"body_sha256", Digest::of(answer.response.body).hex()}};
    // A cache that cannot be written only costs a download next time.
    if (write_file_atomic(dir_ / (key + ".body"), answer.response.body))
      (void)write_file_atomic(dir_ / (key + ".json"), meta.dump());
  }

 private:
  static std::string key_of(const std::string& url, std::string_view accept) {
    return Digest::of(url + "\n" + std::string(accept)).hex();
  }
  std::filesystem::path dir_;
};

// The idle sessions of a transport: a request borrows one (a new one when all are busy) and
// gives it back, so that concurrent requests each have their own and consecutive ones reuse
// their connections.
class SessionPool {
 public:
  explicit SessionPool(http::SessionOptions options) : options_(std::move(options)) {}

  class Lease {
   public:
    Lease(SessionPool& pool, std::unique_ptr<http::Session> session)
        : pool_(pool), session_(std::move(session)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.give_back(std::move(session_)); }
    http::Session& operator*() const { return *session_; }
    http::Session* operator->() const { return session_.get(); }

   private:
    SessionPool& pool_;
    std::unique_ptr<http::Session> session_;
  };

  Lease borrow() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto session = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(session));
      }
    }
    return Lease(*this, std::make_unique<http::Session>(options_));
  }

 private:
  void give_back(std::unique_ptr<http::Session> session) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(session));
  }

  http::SessionOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<http::Session>> idle_;
};

class LibraryTransport final : public IndexTransport {
 public:
  explicit LibraryTransport(const IndexTransportOptions& options)
      : options_(options),
        sessions_(http::SessionOptions{.verify_tls = true,
                                       .extra_ca_file = options.extra_ca_file,
                                       .connect_timeout = options.connect_timeout,
                                       .stall_timeout = options.stall_timeout}) {
    if (!options.cache_dir.empty()) cache_.emplace(options.cache_dir / "pypi-http");
  }

  Result<IndexResponse> get(const std::string& url, std::string_view accept,
                            const Cancellation* cancel) override {
    if (url.starts_with("file://")) return get_file(url);
    if (!url.starts_with("http://") && !url.starts_with("https://"))
      return fail(Code::Unsupported, "cannot fetch '{}': not an http(s) or file URL",
                  redact_url(url));
    const http::RetryPolicy policy{.max_attempts = options_.max_attempts,
                                   .initial_backoff = options_.initial_backoff,
                                   .max_backoff = options_.initial_backoff * 64,
                                   .jitter = true,
                                   .max_retry_after = std::chrono::seconds(60)};
    std::optional<CachedAnswer> cached;
    if (cache_) cached = cache_->load(url, accept);
    for (int attempt = 1;; ++attempt) {
      // One byte more than allowed, so that a truncated (too large) body is seen.
      http::Request request{.url = url, .max_body = options_.max_body + 1, .cancel = cancel};
      request.headers.push_back("Accept: " + std::string(accept));
      if (cached && !cached->etag.empty())
        request.headers.push_back("If-None-Match: " + cached->etag);
      if (cached && !cached->last_modified.empty())
        request.headers.push_back("If-Modified-Since: " + cached->last_modified);
      auto r = sessions_.borrow()->perform(request);
      if (!r) {
        if (r.error().transient && !r.error().cancelled && policy.may_retry(attempt) &&
            http::wait_before_retry(policy, attempt, std::nullopt,
                                    {.url = url, .reason = r.error().error.message()}, cancel))
          continue;
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
        std::string reason = fmt::format("HTTP {}", r->status);
        if (http::wait_before_retry(
                policy, attempt, retry_after ? http::parse_retry_after(*retry_after) : std::nullopt,
                {.url = url, .reason = reason}, cancel))
          continue;
        // Cancelled while waiting: the last answer stands.
      }
      if (r->status == 304 && cached) return std::move(cached->response);
      if (r->body.size() > options_.max_body)
        return fail(Code::Corruption, "{}: larger than {} bytes", redact_url(url),
                    options_.max_body);
      IndexResponse response{.status = r->status,
                             .content_type = r->header("Content-Type").value_or(""),
                             .body = std::move(r->body),
                             .url = r->effective_url.empty() ? url : r->effective_url};
      CachedAnswer answer{.response = {},
                          .etag = r->header("ETag").value_or(""),
                          .last_modified = r->header("Last-Modified").value_or("")};
      if (cache_ && response.status == 200 && response.url == url &&
          (!answer.etag.empty() || !answer.last_modified.empty())) {
        answer.response = response;
        cache_->store(url, accept, answer);
      }
      return response;
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
  SessionPool sessions_;
  std::optional<AnswerCache> cache_;
};

}  // namespace

std::unique_ptr<IndexTransport> make_index_transport(const IndexTransportOptions& options) {
  return std::make_unique<LibraryTransport>(options);
}

}  // namespace de::pypi
