#include "fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace de::test {

FakeHttpServer::FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 16);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  thread_.join();
  for (auto& t : connections_) t.join();
}

std::vector<HttpRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.emplace_back([this, fd] {
      serve_connection(fd);
      ::close(fd);
    });
  }
}

void FakeHttpServer::serve_connection(int fd) {
  std::string buf;
  char chunk[65536];
  auto fill = [&]() {
    pollfd p{fd, POLLIN, 0};
    int waited = 0;
    while (::poll(&p, 1, 100) == 0) {
      if (stop_ || (waited += 100) >= 10000) return false;
    }
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  };
  auto send_all = [&](std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  };
  while (!stop_) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return;
      if (!std::isupper(static_cast<unsigned char>(buf[0]))) {  // TLS hello: not HTTP
        ++tls_hellos_;
        return;
      }
    }
    HttpRequest req;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    auto sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers[name] = value;
      }
      pos = e + 2;
    }
    size_t length =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    while (buf.size() < length)
      if (!fill()) return;
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(req);
    }
    HttpResponse r = handler_(req);
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n";
    bool has_length = false;
    for (auto& [k, v] : r.headers) {
      out += k + ": " + v + "\r\n";
      if (strcasecmp(k.c_str(), "Content-Length") == 0) has_length = true;
    }
    if (!has_length) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += "\r\n";
    if (!send_all(out)) return;
    if (req.method == "HEAD") continue;
    if (r.drop_after >= 0) {
      send_all(std::string_view(r.body).substr(0, static_cast<size_t>(r.drop_after)));
      return;  // closes the connection mid-body
    }
    if (!send_all(r.body)) return;
  }
}

}  // namespace de::test
