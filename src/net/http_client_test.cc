#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "net/http_test_server.h"

namespace shoal::net {
namespace {

using ::testing::HasSubstr;
using testing::KeepAliveServer;
using testing::ReadRequest;
using testing::TestListener;

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

// ---- kept-alive connections ----

const char* const kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";

TEST(HttpConnectionTest, RequestsGoOnOneConnection) {
  KeepAliveServer server(kOk);
  HttpConnection connection(server.address());
  for (int i = 0; i < 5; ++i) {
    auto response = connection.Post({.address = server.address(), .path = "/v3/kv/range", .body = "{}"});
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
    EXPECT_EQ(response->body, "{}");
  }
  EXPECT_TRUE(connection.open());
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
}

// The server ended the idle connection: the caller sees nothing of it, the request goes again on
// a new one.
TEST(HttpConnectionTest, AConnectionTheServerClosedIsReplacedUnseen) {
  KeepAliveServer server(kOk, /*requests_per_connection=*/1);
  HttpConnection connection(server.address());
  for (int i = 0; i < 3; ++i) {
    auto response = connection.Post({.address = server.address(), .path = "/x", .body = "{}"});
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
  }
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpConnectionTest, AnAnswerThatClosesTheConnectionIsHonoured) {
  KeepAliveServer server("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
  HttpConnection connection(server.address());
  for (int i = 0; i < 2; ++i) {
    auto response = connection.Post({.address = server.address(), .path = "/x", .body = "{}"});
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
    EXPECT_FALSE(connection.open());
  }
  EXPECT_EQ(server.connections(), 2);  // the server would have answered on the first: it was not asked
}

// A timeout took all the time there was: not sent again, and the connection is not used again
// (an answer may still come on it).
TEST(HttpConnectionTest, ATimeoutIsNotSentAgain) {
  TestListener silent;
  std::atomic<int> requests{0};
  UniqueFd accepted;
  std::thread server([&] {
    accepted = UniqueFd(::accept4(silent.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    const std::string ok = kOk;
    if (!ReadRequest(accepted.get()).empty()) ++requests;
    [[maybe_unused]] ssize_t n = ::write(accepted.get(), ok.data(), ok.size());
    if (!ReadRequest(accepted.get()).empty()) ++requests;  // and no answer
  });
  HttpConnection connection(silent.address());
  EXPECT_TRUE(connection.Post({.address = silent.address(), .path = "/x", .body = "{}"}).ok());
  auto response = connection.Post({.address = silent.address(), .path = "/x", .body = "{}", .timeout_ms = 200});
  EXPECT_EQ(response.status().code(), Code::kTimedOut) << response.status().ToString();
  EXPECT_FALSE(connection.open());
  server.join();  // its second read ends when the client closes
  EXPECT_EQ(requests, 2);
  pollfd another{.fd = silent.fd.get(), .events = POLLIN};
  EXPECT_EQ(::poll(&another, 1, 0), 0) << "a second connection was opened";
}

TEST(HttpConnectionTest, AServerThatIsGoneIsUnavailable) {
  uint16_t port;
  {
    TestListener closed;
    port = closed.port;
  }
  HttpConnection connection({.host = "127.0.0.1", .port = port});
  auto response = connection.Post({.address = {.host = "127.0.0.1", .port = port}, .path = "/x", .body = "{}"});
  EXPECT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
  EXPECT_FALSE(connection.open());
}

}  // namespace
}  // namespace shoal::net
