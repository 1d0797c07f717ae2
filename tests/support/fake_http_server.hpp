// A tiny HTTP/1.1 server on 127.0.0.1 for unit tests that need to script a registry's answers
// (schema 1 manifests, 429 + Retry-After, dropped connections, servers that ignore Range). One
// thread per connection (keep-alive honoured); the handler may run on several threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace de::test {

struct HttpRequest {
  std::string method, target;                  // target: path + query
  std::map<std::string, std::string> headers;  // names lower case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, only this many body bytes are sent (Content-Length still says the full size) and
  // the connection is closed: a dropped transfer.
  long drop_after = -1;
};

class FakeHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // Every request seen so far, in order.
  std::vector<HttpRequest> requests() const;
  // Connections that opened with a TLS handshake (refused: this server speaks plain HTTP).
  int tls_hellos() const { return tls_hellos_; }

 private:
  void serve();
  void serve_connection(int fd);
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> tls_hellos_{0};
  mutable std::mutex mutex_;
  std::vector<HttpRequest> requests_;
  std::thread thread_;
  std::vector<std::thread> connections_;  // joined on destruction
};

}  // namespace de::test
