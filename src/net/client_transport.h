// ClientTransport: a client's connection to one server, kept alive by itself.
//
// Requests may be issued from any thread; many are in flight at once and are answered in any
// order. When the connection drops the transport reconnects (trying every configured address, with
// backoff) and replays the hello message first. What happens to requests caught by a drop:
//   - sent and retry-safe (reads, idempotent writes): sent again after reconnecting, failing with
//     kUnavailable if no server takes them within `give_up_ms` of the drop;
//   - sent and not retry-safe (create, rename, ...): fail with kUnavailable, because they may or
//     may not have taken effect;
//   - not yet sent, or waiting for a reconnect: fail with kUnavailable `give_up_ms` after they were
//     issued (only ~1 s once the server has been gone longer than that, so that a dead server
//     does not make every call wait the full time). Nothing waits forever.
// A server that stops answering (frozen, cut off) is detected by pings: no frame for `silence_ms`
// while a request is outstanding closes the connection and starts the reconnect.
//
// Pushes (server-sent invalidations, frame kind 3) go to the push handler, on the transport's
// thread, with the generation of the connection they came on; whoever carries one out calls Ack
// with that generation (from any thread). Without a handler a push is acknowledged at once. A
// reply says whether a push arrived between sending its request and its answer (raced_push): what
// it says may already be stale, and must not be cached. When the server pushes, the transport pings
// at least four times per acknowledgement timeout (hello's push_ack_timeout_ms), so that
// last_heard() tells the client whether it may still trust its cache (its lease).
//
// A call is registered and, while the connection is ready, sent from the caller's thread, under
// one mutex that the transport's thread also takes to match answers and to send what waited for a
// connection (in the order issued): handing every request to another thread, to send it or just to
// note it, wakes that thread once more per request.
//
// Callbacks run on the transport's own thread: they must be quick and must not call CallSync.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "net/asio.h"
#include "net/connection.h"
#include "proto/shoal.pb.h"

namespace shoal::net {

struct TransportOptions {
  std::vector<HostPort> servers;  // tried in order
  proto::Request hello;                // sent first on every connection
  int connect_timeout_ms = 3000;
  int give_up_ms = 5000;
  int ping_interval_ms = 1000;
  int silence_ms = 4000;
  int backoff_max_ms = 1000;  // the longest wait between rounds of reconnecting
  int hello_timeout_ms = 0;   // how long a connected server has to answer the hello; 0: connect_timeout_ms
};

struct Reply {
  proto::Response response;
  Bulk trailer;  // a read's data, or null
  bool raced_push = false;  // a push arrived after the request was sent, before this answer
  std::string_view data() const { return View(trailer); }
};

class ClientTransport {
 public:
  using Callback = std::function<void(Result<Reply>)>;
  using Clock = std::chrono::steady_clock;
  // Receives each push with the generation of its connection; must be quick.
  using PushHandler = std::function<void(uint64_t generation, uint64_t push_id, proto::Push push)>;

  // Connects and completes the hello exchange, or fails within connect_timeout_ms with a message
  // naming every address tried.
  static Result<std::unique_ptr<ClientTransport>> Connect(TransportOptions options);
  // Connects in the background, and again whenever the connection drops, until destroyed: calls
  // made meanwhile wait as they do for a reconnect (give_up_ms). A hello refused is tried again.
  static std::unique_ptr<ClientTransport> Open(TransportOptions options);
  ~ClientTransport();  // fails everything still pending with kUnavailable
  ClientTransport(const ClientTransport&) = delete;
  ClientTransport& operator=(const ClientTransport&) = delete;

  // The reply is ok() only if the frame arrived; the server's own status is inside it.
  void Call(proto::Request request, Bulk trailer, bool retry_safe, Callback done);
  Result<Reply> CallSync(proto::Request request, Bulk trailer, bool retry_safe);

  const proto::HelloResponse& hello() const { return hello_; }
  // Grows by one with every successful (re)connection; server-side handles of an older
  // generation are gone.
  uint64_t generation() const { return generation_.load(); }

  // Closes the current connection as if it had broken (requests sent on it fail or are resent as
  // for any lost connection) and reconnects. Any thread.
  void Disconnect(const std::string& reason);
  // Replaces the push handler (any thread; pushes arriving meanwhile go to the old or new one).
  void SetPushHandler(PushHandler handler);
  // Called on the io thread each time a connection is made again (not the first), after the
  // requests caught by the reconnect were sent again; it must be quick.
  void SetReconnectHandler(std::function<void()> handler);
  // Acknowledges push `push_id` of connection `generation` (nothing if that connection is gone:
  // the server's session, which waited for it, went with it). Any thread.
  void Ack(uint64_t generation, uint64_t push_id);
  // Whether the hello has been answered on the current connection, and when the server was last
  // heard from (any frame). Any thread.
  bool connected() const { return connected_.load(); }
  // Which of the configured servers the current (or last) connection went to. Any thread.
  size_t server_index() const { return server_index_.load(); }
  Clock::time_point last_heard() const { return Clock::time_point(Clock::duration(last_heard_ticks_.load())); }

 private:
  class Sink;
  struct Pending {
    Frame frame;
    bool retry_safe = false;
    bool sent = false;
    uint64_t pushes_at_send = 0;  // pushes_received_ when it was last sent
    Callback done;
    std::chrono::steady_clock::time_point deadline;  // for waiting unsent
  };
  explicit ClientTransport(TransportOptions options);
  asio::awaitable<void> ConnectLoop();
  asio::awaitable<Status> TryConnect(const HostPort& address);
  asio::awaitable<void> Heartbeat();
  void OnFrame(Frame frame);
  void OnPush(Frame frame);
  void OnClose(const std::string& reason);
  void SendLocked(Pending& pending);  // calls_mutex_ held
  void FailPending(const Status& status, bool only_unsent);

  const TransportOptions options_;
  asio::io_context io_;
  std::thread thread_;
  // All below: io thread only.
  std::shared_ptr<Connection> connection_;
  bool ready_ = false;        // hello answered on connection_
  bool connecting_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> next_id_{1};  // any thread
  uint64_t hello_id_ = 0;
  Clock::time_point last_heard_ = Clock::now();
  std::string last_error_;
  Code last_refusal_ = Code::kOk;  // the last address tried refused the hello with this
  size_t connected_index_ = 0;     // into options_.servers: the server of the current connection
  size_t silent_server_ = SIZE_MAX;  // skipped by reconnects until silent_until_
  Clock::time_point silent_until_{};
  asio::steady_timer* retry_timer_ = nullptr;  // ConnectLoop's backoff; cancelled to retry now
  asio::steady_timer* hello_wait_ = nullptr;   // TryConnect's wait for the hello's answer
  bool retry_now_ = false;
  std::function<void(Status)> first_connect_;  // completes Connect()
  proto::HelloResponse hello_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> connected_{false};                  // ready_, for other threads
  std::atomic<size_t> server_index_{0};                 // connected_index_, for other threads
  std::atomic<Clock::rep> last_heard_ticks_{0};         // last_heard_, for other threads
  uint64_t pushes_received_ = 0;                        // io thread only
  std::atomic<uint64_t> pushes_seen_{0};                // pushes_received_, for other threads
  // The calls, shared by the callers' threads (Call) and the io thread (answers, drops, reconnects).
  std::mutex calls_mutex_;
  std::map<uint64_t, Pending> pending_;               // guarded by calls_mutex_
  std::shared_ptr<Connection> direct_;                // connection_ while ready, else null; guarded
  Clock::time_point down_since_ = Clock::now();       // guarded by calls_mutex_
  bool calls_stopped_ = false;                        // guarded by calls_mutex_
  int ping_interval_ms_ = 0;                            // io thread only; set by the hello
  PushHandler push_handler_;                            // io thread only
  std::function<void()> reconnect_handler_;             // io thread only
};

}  // namespace shoal::net
