#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.h"

namespace shoal::net {
namespace {

using ::testing::HasSubstr;

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
std::string ReadRequest(int fd) {
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

// Serves one connection: reads the request, writes `answer` and closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer)
      : thread_([this, answer = std::move(answer)] {
          UniqueFd connection(::accept4(listener_.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
          request_ = ReadRequest(connection.get());
          [[maybe_unused]] ssize_t n = ::write(connection.get(), answer.data(), answer.size());
        }) {}
  ~OneShotServer() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  HostPort address() const { return listener_.address(); }
  const std::string& request() const { return request_; }  // after Join()

 private:
  TestListener listener_;
  std::string request_;
  std::thread thread_;
};

TEST(HttpPostTest, PostsTheBodyAndReturnsTheAnswer) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}");
  auto response = HttpPost({.address = server.address(), .path = "/v3/kv/put", .body = R"({"key":"aw=="})"});
  server.Join();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_THAT(server.request(), HasSubstr("POST /v3/kv/put HTTP/1.1\r\n"));
  EXPECT_THAT(server.request(), HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(server.request(), HasSubstr("\r\n\r\n{\"key\":\"aw==\"}"));
}

TEST(HttpPostTest, ReadsAChunkedAnswerWithATrailer) {
  // What etcd's gateway sends with an error: chunked, with a gRPC trailer.
  OneShotServer server(
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nTrailer: Grpc-Trailer-Content-Type\r\n\r\n"
      "5\r\nhello\r\n0\r\nGrpc-Trailer-Content-Type: application/grpc\r\n\r\n");
  auto response = HttpPost({.address = server.address(), .path = "/x", .body = "{}"});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "hello");
}

// ---- failures: each says whether the request may have been applied ----

TEST(HttpPostTest, RefusedConnectionIsUnavailableAndNamesTheAddress) {
  uint16_t port;
  {
    TestListener closed;  // a port that was free a moment ago, no longer listened on
    port = closed.port;
  }
  auto response = HttpPost({.address = {.host = "127.0.0.1", .port = port}, .path = "/v3/kv/put", .body = "{}"});
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("127.0.0.1:" + std::to_string(port) + "/v3/kv/put"));
  EXPECT_THAT(response.status().message(), HasSubstr("refused"));
}

TEST(HttpPostTest, ConnectionNotAcceptedInTimeIsUnavailable) {
  // A listener whose accept queue is full: the kernel drops further SYNs, so connect hangs.
  TestListener full(/*backlog=*/0);
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 2; ++i) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(full.port);
    fillers.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::connect(fillers.back().get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  auto response = HttpPost({.address = full.address(), .path = "/x", .body = "{}", .timeout_ms = 300});
  EXPECT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("cannot connect within 300 ms"));
}

TEST(HttpPostTest, NoAnswerInTimeIsTimedOut) {
  TestListener silent;  // the kernel completes the connection; nobody ever reads or answers
  auto response = HttpPost({.address = silent.address(), .path = "/x", .body = "{}", .timeout_ms = 200});
  EXPECT_EQ(response.status().code(), Code::kTimedOut) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("no answer within 200 ms"));
}

TEST(HttpPostTest, ClosedWithoutAnswerIsIoError) {
  OneShotServer server("");
  auto response = HttpPost({.address = server.address(), .path = "/x", .body = "{}"});
  EXPECT_EQ(response.status().code(), Code::kIoError) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("connection lost before the answer"));
}

TEST(HttpPostTest, GarbageIsProtocolError) {
  OneShotServer server("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  auto response = HttpPost({.address = server.address(), .path = "/x", .body = "{}"});
  EXPECT_EQ(response.status().code(), Code::kProtocolError) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("not an HTTP answer"));
}

TEST(HttpPostTest, BodyOverTheLimitIsProtocolError) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  auto response = HttpPost({.address = server.address(), .path = "/x", .body = "{}", .body_limit_bytes = 10});
  EXPECT_EQ(response.status().code(), Code::kProtocolError) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("larger than 10 bytes"));
}

}  // namespace
}  // namespace shoal::net
