// Test support for HTTP clients: a loopback listener and small HTTP servers that count what
// they are asked. Header-only: used by the net and coord tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/host_port.h"
#include "common/unique_fd.h"

namespace shoal::net::testing {

// A listening socket on 127.0.0.1 with a port of its own; `backlog` as listen(2) takes it.
struct TestListener {
  explicit TestListener(int backlog = 16) {
    fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd.get(), backlog), 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    port = ntohs(addr.sin_port);
  }
  HostPort address() const { return {.host = "127.0.0.1", .port = port}; }

  UniqueFd fd;
  uint16_t port = 0;
};

// Reads one request (headers and a Content-Length body) from `fd`.
inline std::string ReadRequest(int fd) {
  std::string request;
  char buffer[4096];
  size_t body_length = 0;
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos || request.size() < header_end + 4 + body_length) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    request.append(buffer, n);
    if (header_end == std::string::npos && (header_end = request.find("\r\n\r\n")) != std::string::npos) {
      auto at = request.find("Content-Length: ");
      if (at != std::string::npos) body_length = std::stoul(request.substr(at + 16));
    }
  }
  return request;
}

// Serves every connection it accepts, each on a thread of its own: reads requests one after
// another and answers each with `answer`, until the client closes, or, if `requests_per_connection`
// is set, closes the connection after that many (without saying so: a server ending an idle
// connection). Counts connections and requests.
class KeepAliveServer {
 public:
  explicit KeepAliveServer(std::string answer, int requests_per_connection = 0)
      : answer_(std::move(answer)), per_connection_(requests_per_connection) {
    acceptor_ = std::thread([this] {
      for (;;) {
        int fd = ::accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        ++connections_;
        std::lock_guard lock(mutex_);
        open_.emplace_back(fd);
        servers_.emplace_back([this, fd] { Serve(fd); });
      }
    });
  }
  ~KeepAliveServer() {
    ::shutdown(listener_.fd.get(), SHUT_RDWR);  // ends the accept
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (auto& fd : open_) ::shutdown(fd.get(), SHUT_RDWR);  // ends the reads
    for (auto& server : servers_) server.join();
  }
  HostPort address() const { return listener_.address(); }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  void Serve(int fd) {
    for (int served = 0; per_connection_ == 0 || served < per_connection_; ++served) {
      if (ReadRequest(fd).empty()) return;
      ++requests_;
      if (::write(fd, answer_.data(), answer_.size()) != static_cast<ssize_t>(answer_.size())) return;
    }
    ::shutdown(fd, SHUT_RDWR);
  }

  TestListener listener_;
  const std::string answer_;
  const int per_connection_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::vector<UniqueFd> open_;        // guarded by mutex_
  std::vector<std::thread> servers_;  // guarded by mutex_
  std::thread acceptor_;
};

}  // namespace shoal::net::testing
