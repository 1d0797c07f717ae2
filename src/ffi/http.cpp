#include "ffi/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "docker_envs/base/redact.hpp"
#include "ffi/http_retry.hpp"

namespace de::ffi::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// State shared with the callbacks during one perform().
struct Transfer {
  CURL* curl = nullptr;
  const Request* request = nullptr;
  Response response;
  std::optional<Error> sink_error;
  std::uint64_t body_offset = 0;  // bytes of the request body handed to curl so far
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (redirect, 100-continue): keep only the last
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  t->response.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  return size * count;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->sink && (t->request->sink_status ? status == t->request->sink_status
                                                   : status >= 200 && status < 300)) {
    auto st = t->request->sink->write(std::as_bytes(std::span(data, n)));
    if (!st) {
      t->sink_error = std::move(st).error();
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->response.sink_bytes += n;
    return n;
  }
  size_t room = t->request->max_body > t->response.body.size()
                    ? t->request->max_body - t->response.body.size()
                    : 0;
  t->response.body.append(data, std::min(n, room));
  return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->request->body_reader) {
    auto got = t->request->body_reader->read(std::as_writable_bytes(std::span(buffer, n)));
    if (!got) {
      t->sink_error = std::move(got).error();
      return CURL_READFUNC_ABORT;
    }
    t->body_offset += *got;
    return *got;
  }
  const std::string& body = t->request->body;
  size_t left = body.size() - t->body_offset;
  size_t take = std::min(left, n);
  std::memcpy(buffer, body.data() + t->body_offset, take);
  t->body_offset += take;
  return take;
}

// curl rewinds the body to resend a request (a reused connection that turned out dead). An
// in-memory body can always go back; a streamed one only while nothing was read from it.
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  auto target = static_cast<std::uint64_t>(offset);
  if (t->request->body_reader) {
    if (target != t->body_offset) return CURL_SEEKFUNC_CANTSEEK;
    return CURL_SEEKFUNC_OK;
  }
  if (target > t->request->body.size()) return CURL_SEEKFUNC_FAIL;
  t->body_offset = target;
  return CURL_SEEKFUNC_OK;
}

// Called by curl at least once a second during a transfer: a non-zero answer aborts it.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->request->cancel && t->request->cancel->cancelled() ? 1 : 0;
}

// No server of the host answered (see TransferError::unreachable).
bool is_unreachable(CURLcode code, CURL* curl) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
      return true;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: {
      long header_bytes = 0;  // a reset before any reply
      curl_easy_getinfo(curl, CURLINFO_HEADER_SIZE, &header_bytes);
      return header_bytes == 0;
    }
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected = 0;  // microseconds until connected; 0: never
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected);
      return connected == 0;
    }
    default:
      return false;
  }
}

bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_FAIL_REWIND:  // a streamed body that had to be resent: the caller restarts
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::vector<std::string> Response::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& h : headers)
    if (iequals(h.name, name)) out.push_back(h.value);
  return out;
}

struct Session::Impl {
  SessionOptions options;
  CURL* curl = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
};

Session::Session(const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->options = options;
  impl_->curl = curl_easy_init();
}

Session::~Session() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

std::expected<Response, TransferError> Session::perform(const Request& request) {
  CURL* curl = impl_->curl;
  if (!curl) return std::unexpected(TransferError{Error(Code::Internal, "curl_easy_init failed")});
  const SessionOptions& o = impl_->options;
  const std::string& m = request.method;
  if (request.cancel && request.cancel->cancelled()) {
    TransferError err{
        Error(Code::Network, fmt::format("{} {}: cancelled", m, redact_url(request.url)))};
    err.cancelled = true;
    return std::unexpected(std::move(err));
  }
  if (o.breaker) {
    if (auto refusal = o.breaker->refusal(request.url)) {
      TransferError err{
          Error(Code::Network, fmt::format("{} {}: {}", m, redact_url(request.url), *refusal))};
      err.unreachable = true;
      return std::unexpected(std::move(err));
    }
  }
  curl_easy_reset(curl);  // keeps the connection cache
  Transfer t;
  t.curl = curl;
  t.request = &request;
  impl_->errbuf[0] = 0;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, impl_->errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  if (!o.extra_ca_file.empty()) {
    // CAINFO replaces the default bundle; the system store stays trusted through its hashed
    // directory.
    curl_easy_setopt(curl, CURLOPT_CAINFO, o.extra_ca_file.c_str());
    std::error_code ec;
    if (std::filesystem::is_directory("/etc/ssl/certs", ec))
      curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(curl, CURLOPT_READDATA, &t);
  curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
  if (request.cancel) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  }

  Slist headers;
  auto add_header = [&](const std::string& h) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (next) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (auto& h : request.headers) add_header(h);
  add_header("Expect:");  // no 100-continue round trip before bodies

  std::uint64_t body_size = request.body_reader ? request.body_size : request.body.size();
  bool has_body = request.body_reader || !request.body.empty();
  if (m == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (m == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_size));
    if (!has_body) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  } else if (m == "PUT" || m == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    if (m == "PATCH") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PATCH");
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    TransferError err{Error(Code::Network, ""), false, t.response.sink_bytes, false};
    if (t.sink_error) {
      err.error = std::move(*t.sink_error);
      err.sink_failed = true;
      return std::unexpected(std::move(err));
    }
    std::string detail = impl_->errbuf[0] ? impl_->errbuf : curl_easy_strerror(rc);
    err.error = Error(Code::Network, fmt::format("{} {}: {}", m, redact_url(request.url), detail));
    if (rc == CURLE_ABORTED_BY_CALLBACK && request.cancel && request.cancel->cancelled()) {
      err.error = Error(Code::Network, fmt::format("{} {}: cancelled", m, redact_url(request.url)));
      err.cancelled = true;
      return std::unexpected(std::move(err));
    }
    err.unreachable = is_unreachable(rc, curl);
    if (o.breaker) {
      if (err.unreachable)
        o.breaker->unreachable(request.url, detail);
      else
        o.breaker->reached(request.url);
    }
    err.transient = is_transient(rc);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      err.error = Error(Code::Network, fmt::format("{} {}: TLS verification failed: {}", m,
                                                   redact_url(request.url), detail));
    return std::unexpected(std::move(err));
  }
  if (o.breaker) o.breaker->reached(request.url);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* effective = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) t.response.effective_url = effective;
  return std::move(t.response);
}

}  // namespace de::ffi::http
