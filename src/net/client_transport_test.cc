#include "net/client_transport.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/listener.h"
#include "proto/messages.h"

namespace shoal::net {
namespace {

using Clock = std::chrono::steady_clock;

// A server the test scripts, on 127.0.0.1: `on_hello` and `on_request` get each frame with its
// connection and answer (or not) through Respond; pings are answered here, then shown to `on_ping`.
class ScriptedServer {
 public:
  using Handler = std::function<void(const std::shared_ptr<Connection>&, const Frame&)>;

  ScriptedServer(Handler on_hello, Handler on_request, Handler on_ping = nullptr)
      : on_hello_(std::move(on_hello)), on_request_(std::move(on_request)), on_ping_(std::move(on_ping)) {
    auto listener = Listener::Start("127.0.0.1", 0, [this](std::shared_ptr<Connection> connection) {
      return std::make_shared<Sink>(*this, std::move(connection));
    });
    EXPECT_TRUE(listener.ok()) << listener.status().ToString();
    if (listener.ok()) listener_ = std::move(*listener);
  }
  HostPort address() const { return {.host = "127.0.0.1", .port = listener_ ? listener_->port() : uint16_t(0)}; }

  static void Respond(const std::shared_ptr<Connection>& connection, const Frame& request, const proto::Response& response) {
    Frame frame;
    frame.header.kind = proto::FrameKind::kResponse;
    frame.header.opcode = request.header.opcode;
    frame.header.request_id = request.header.request_id;
    frame.body = proto::Serialize(response);
    connection->Send(std::move(frame));
  }

 private:
  struct Sink : FrameSink {
    Sink(ScriptedServer& server, std::shared_ptr<Connection> connection)
        : server(server), connection(std::move(connection)) {}
    void OnFrame(Frame frame) override {
      auto request = proto::DecodeRequest(frame.header, {reinterpret_cast<const uint8_t*>(frame.body.data()), frame.body.size()});
      if (!request.ok()) return;
      if (request->has_ping()) {
        proto::Response pong;
        pong.mutable_ping();
        Respond(connection, frame, pong);
        if (server.on_ping_) server.on_ping_(connection, frame);
        return;
      }
      (request->has_hello() ? server.on_hello_ : server.on_request_)(connection, frame);
    }
    void OnClose(const std::string&) override {}
    ScriptedServer& server;
    std::shared_ptr<Connection> connection;
  };

  const Handler on_hello_, on_request_, on_ping_;
  std::unique_ptr<Listener> listener_;
};

proto::Response HelloOk() {
  proto::Response response;
  response.mutable_hello();
  return response;
}

proto::Request GetAttr() {
  proto::Request request;
  request.mutable_get_attr()->set_node(1);
  return request;
}

TransportOptions Options(std::vector<HostPort> servers) {
  TransportOptions options{.servers = std::move(servers), .connect_timeout_ms = 2000, .give_up_ms = 1000,
                           .ping_interval_ms = 50, .backoff_max_ms = 50, .hello_timeout_ms = 2000};
  options.hello.mutable_hello()->set_volume("v");
  return options;
}

// A server that answers pings but holds a change it cannot get replicated (an old primary cut off
// from its backups) for longer than give_up, then lets go of the connection: the request has
// waited past its give-up time, yet is sent to the next server, slow to answer as it may be.
TEST(ClientTransportTest, RequestHeldLongByALostServerIsStillSentToTheNext) {
  constexpr auto kHeld = std::chrono::milliseconds(1200);  // longer than give_up (Options)
  std::mutex mutex;
  std::optional<Clock::time_point> held_since;
  bool let_go = false;
  ScriptedServer old_primary(
      [&](const std::shared_ptr<Connection>& connection, const Frame& hello) {
        std::lock_guard lock(mutex);
        ScriptedServer::Respond(connection, hello,
                                let_go ? proto::ErrorResponse(Status(Code::kNotPrimary, "not primary")) : HelloOk());
      },
      [&](const std::shared_ptr<Connection>&, const Frame&) {
        std::lock_guard lock(mutex);
        held_since = Clock::now();
      },
      [&](const std::shared_ptr<Connection>& connection, const Frame&) {  // the client's pings measure the hold
        std::lock_guard lock(mutex);
        if (let_go || !held_since || Clock::now() - *held_since < kHeld) return;
        let_go = true;
        connection->Close("no longer the primary");
      });
  std::vector<std::jthread> slow_answers;
  ScriptedServer new_primary(
      [&](const std::shared_ptr<Connection>& connection, const Frame& hello) {
        // Its answer comes after a few of the client's heartbeats (every 100 ms): the client is
        // without a server meanwhile, the request unsent and long past its give-up time.
        slow_answers.emplace_back([connection, hello] {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          ScriptedServer::Respond(connection, hello, HelloOk());
        });
      },
      [&](const std::shared_ptr<Connection>& connection, const Frame& request) {
        proto::Response response;
        response.mutable_get_attr()->mutable_attr()->set_ino(7);
        ScriptedServer::Respond(connection, request, response);
      });
  auto transport = ClientTransport::Connect(Options({old_primary.address(), new_primary.address()}));
  ASSERT_TRUE(transport.ok()) << transport.status().ToString();
  auto reply = (*transport)->CallSync(GetAttr(), nullptr, /*retry_safe=*/true);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->response.get_attr().attr().ino(), 7u);
  std::lock_guard lock(mutex);
  EXPECT_TRUE(let_go);
}

// The same drop with a request that may not be sent twice (a create): it fails at once.
TEST(ClientTransportTest, RequestNotSafeToResendFailsWhenItsConnectionDrops) {
  ScriptedServer server(
      [&](const std::shared_ptr<Connection>& connection, const Frame& hello) {
        ScriptedServer::Respond(connection, hello, HelloOk());
      },
      [&](const std::shared_ptr<Connection>& connection, const Frame&) { connection->Close("gone"); });
  auto transport = ClientTransport::Connect(Options({server.address()}));
  ASSERT_TRUE(transport.ok()) << transport.status().ToString();
  auto reply = (*transport)->CallSync(GetAttr(), nullptr, /*retry_safe=*/false);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kUnavailable);
}

// Calls made at once from many threads, most of them sent from the caller's thread: each gets its
// own answer, whether it came back before or after the transport's thread registered the call;
// and calls made across reconnects (the server drops the connection now and then) are still
// answered, the ones safe to resend.
TEST(ClientTransportTest, CallsFromManyThreadsEachGetTheirOwnAnswer) {
  std::atomic<int> answered_by_server{0};
  ScriptedServer server(
      [&](const std::shared_ptr<Connection>& connection, const Frame& hello) {
        ScriptedServer::Respond(connection, hello, HelloOk());
      },
      [&](const std::shared_ptr<Connection>& connection, const Frame& frame) {
        auto request = proto::DecodeRequest(frame.header, Bytes(frame.body));
        ASSERT_TRUE(request.ok());
        if (++answered_by_server % 500 == 0) {
          connection->Close("dropped by the test");
          return;
        }
        proto::Response response;
        response.mutable_get_attr()->mutable_attr()->set_ino(request->get_attr().node());
        ScriptedServer::Respond(connection, frame, response);
      });
  auto transport = ClientTransport::Connect(Options({server.address()}));
  ASSERT_TRUE(transport.ok()) << transport.status().ToString();
  constexpr uint64_t kThreads = 6;
  constexpr uint64_t kCalls = 400;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0}, failed{0}, lost{0};
  for (uint64_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < kCalls; ++i) {
        proto::Request request;
        const uint64_t node = (t + 1) * 100000 + i;
        request.mutable_get_attr()->set_node(node);
        auto answer = std::make_shared<std::promise<Result<Reply>>>();
        auto future = answer->get_future();
        (*transport)->Call(request, nullptr, /*retry_safe=*/true,
                           [answer](Result<Reply> reply) { answer->set_value(std::move(reply)); });
        if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
          ++lost;
          continue;
        }
        Result<Reply> reply = future.get();
        if (!reply.ok()) {
          ++failed;
        } else if (reply->response.get_attr().attr().ino() != node) {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(lost.load(), 0) << "calls never answered";
  EXPECT_GE(answered_by_server.load(), static_cast<int>(kThreads * kCalls));
}

}  // namespace
}  // namespace shoal::net
