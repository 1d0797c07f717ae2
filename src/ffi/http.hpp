// Private: a small RAII wrapper over libcurl's easy interface, for the registry client.
//
// One Session owns one easy handle (and so one connection cache): reuse it for consecutive requests
// to the same host so connections stay alive. A Session is not thread-safe; parallel transfers use
// one Session per thread. curl_global_init runs once, on first use, under std::call_once.
//
// Nothing here retries or authenticates: that is the caller's policy (registry/transport). Request
// headers may carry credentials; this wrapper never logs headers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/error.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/parallel.hpp"

namespace de::ffi::http {

class HostBreaker;  // http_retry.hpp

struct SessionOptions {
  // TLS peer and host verification; on unless a caller decides otherwise for a named host.
  bool verify_tls = true;
  std::string extra_ca_file;  // a PEM bundle trusted in addition to the system store
  std::chrono::seconds connect_timeout{30};
  // A transfer slower than 1 byte/s for this long fails (as a transient Network error).
  std::chrono::seconds stall_timeout{60};
  std::string user_agent = "docker-envs/0.1";
  // Shared by the sessions of one run (a fetcher, a registry client): a host given up on fails
  // every request at once (see http_retry.hpp). None: every request is tried.
  std::shared_ptr<HostBreaker> breaker;
};

struct Header {
  std::string name;  // as received
  std::string value;
};

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The request body: either `body` (small, in memory) or `body_reader` with `body_size` bytes.
  std::string body;
  Reader* body_reader = nullptr;  // not owned
  std::uint64_t body_size = 0;
  // Where the response body goes when the status is 2xx. Without a sink, or for other statuses,
  // the body is kept in Response::body up to `max_body` bytes (error documents, manifests).
  Writer* sink = nullptr;  // not owned; not closed
  // When non-zero, only this status feeds the sink (206 for a resumed download: a server that
  // ignores Range and answers 200 must not append a whole body after the partial one).
  long sink_status = 0;
  size_t max_body = 8 << 20;
  bool follow_redirects = true;
  // When set and cancelled (another part of the operation failed), the transfer is aborted (a
  // TransferError with `cancelled`) and none is started.
  const Cancellation* cancel = nullptr;  // not owned
};

struct Response {
  long status = 0;
  std::vector<Header> headers;  // of the final response (after redirects)
  std::string body;
  std::string effective_url;
  std::uint64_t sink_bytes = 0;  // bytes delivered to Request::sink

  // First header of that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
  // All headers of that name.
  std::vector<std::string> headers_named(std::string_view name) const;
};

// Failure of the transfer itself (no complete HTTP response). Code::Network; `transient` tells
// whether trying again could help (connection reset, timeout, partial transfer).
struct TransferError {
  Error error;
  bool transient = false;
  std::uint64_t sink_bytes = 0;  // how much reached the sink before the failure
  bool sink_failed = false;      // the sink's write failed (its error is in `error`)
  // No server of the host answered: the connection was refused, the name did not resolve, the
  // connection timed out, or the server closed it without a reply (what HostBreaker counts).
  bool unreachable = false;
  bool cancelled = false;  // Request::cancel was cancelled
};

class Session {
 public:
  explicit Session(const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Performs one request. An HTTP error status is a Response, not an error.
  std::expected<Response, TransferError> perform(const Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace de::ffi::http
