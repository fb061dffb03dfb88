#include "net/client_transport.h"

#include <algorithm>
#include <future>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "proto/messages.h"

namespace shoal::net {
namespace {

constexpr uint64_t kPingId = 0;  // never used by a real request; replies to it only prove life

// The timeout the server waits for an acknowledgement is also the client's lease; pings at four
// times that rate keep an idle client's lease fresh.
constexpr int kPingsPerLease = 4;

Frame RequestFrame(uint64_t id, const proto::Request& request, Bulk trailer) {
  Frame frame;
  frame.header.kind = proto::FrameKind::kRequest;
  frame.header.opcode = proto::OpcodeOf(request);
  frame.header.request_id = id;
  frame.body = proto::Serialize(request);
  frame.trailer = std::move(trailer);
  return frame;
}

}  // namespace

class ClientTransport::Sink : public FrameSink {
 public:
  Sink(ClientTransport& transport, std::shared_ptr<Connection> connection)
      : transport_(transport), connection_(std::move(connection)) {}
  void OnFrame(Frame frame) override {
    if (transport_.connection_ == connection_) transport_.OnFrame(std::move(frame));
  }
  void OnClose(const std::string& reason) override {
    if (transport_.connection_ == connection_) transport_.OnClose(reason);
  }

 private:
  ClientTransport& transport_;
  std::shared_ptr<Connection> connection_;
};

ClientTransport::ClientTransport(TransportOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<ClientTransport>> ClientTransport::Connect(TransportOptions options) {
  if (options.servers.empty()) return Status(Code::kInvalidArgument, "no server address given");
  std::unique_ptr<ClientTransport> transport(new ClientTransport(std::move(options)));
  std::promise<Status> connected;
  auto result = connected.get_future();
  transport->first_connect_ = [&connected](Status status) { connected.set_value(std::move(status)); };
  asio::co_spawn(transport->io_, transport->ConnectLoop(), asio::detached);
  asio::co_spawn(transport->io_, transport->Heartbeat(), asio::detached);
  transport->thread_ = std::thread([t = transport.get()] { t->io_.run(); });
  Status status = result.get();
  if (!status.ok()) return status;
  return transport;
}

std::unique_ptr<ClientTransport> ClientTransport::Open(TransportOptions options) {
  std::unique_ptr<ClientTransport> transport(new ClientTransport(std::move(options)));
  asio::co_spawn(transport->io_, transport->ConnectLoop(), asio::detached);
  asio::co_spawn(transport->io_, transport->Heartbeat(), asio::detached);
  transport->thread_ = std::thread([t = transport.get()] { t->io_.run(); });
  return transport;
}

ClientTransport::~ClientTransport() {
  asio::post(io_, [this] {
    stopping_ = true;
    {
      std::lock_guard lock(calls_mutex_);
      calls_stopped_ = true;
      direct_ = nullptr;
    }
    if (connection_) connection_->Close("client stopping");
    FailPending(Status(Code::kUnavailable, "client stopping"), /*only_unsent=*/false);
  });
  // Handlers run in the order posted: the loop stops after the cleanup above has run.
  asio::post(io_, [this] { io_.stop(); });
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> ClientTransport::ConnectLoop() {
  if (connecting_) co_return;
  connecting_ = true;
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  int backoff_ms = 50;
  asio::steady_timer timer(io_);
  retry_timer_ = &timer;
  while (!stopping_) {
    std::vector<std::string> errors;
    for (size_t index = 0; index < options_.servers.size(); ++index) {
      const HostPort& address = options_.servers[index];
      if (index == silent_server_ && options_.servers.size() > 1 && Clock::now() < silent_until_) continue;
      Status status = co_await TryConnect(address);
      if (status.ok()) {
        connected_index_ = index;
        server_index_ = index;
        connecting_ = false;
        retry_timer_ = nullptr;
        co_return;
      }
      errors.push_back(fmt::format("{}: {}", address.ToString(), status.message()));
    }
    last_error_ = fmt::format("{}", fmt::join(errors, "; "));
    if (first_connect_ && Clock::now() >= deadline) {
      auto done = std::exchange(first_connect_, nullptr);
      connecting_ = false;
      retry_timer_ = nullptr;
      // A server that answered and refused says why (not primary yet, no such volume yet).
      done(Status(last_refusal_ == Code::kOk ? Code::kUnavailable : last_refusal_, "cannot reach " + last_error_));
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(backoff_ms));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff_ms = std::exchange(retry_now_, false) ? 50 : std::min(backoff_ms * 2, options_.backoff_max_ms);
  }
  connecting_ = false;
  retry_timer_ = nullptr;
}

asio::awaitable<Status> ClientTransport::TryConnect(const HostPort& address) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto endpoints = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status(Code::kUnavailable, ec.message());
  last_refusal_ = Code::kOk;
  tcp::socket socket(io_);
  asio::steady_timer timeout(io_);
  timeout.expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  timeout.async_wait([&socket](boost::system::error_code wait_ec) {
    if (!wait_ec) socket.close();
  });
  co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  timeout.cancel();
  if (ec) co_return Status(Code::kUnavailable, ec == asio::error::operation_aborted ? "timed out" : ec.message());

  auto connection = std::make_shared<Connection>(std::move(socket));
  connection_ = connection;
  ready_ = false;
  connected_ = false;
  last_heard_ = Clock::now();
  connection->Start(std::make_shared<Sink>(*this, connection));
  hello_id_ = next_id_++;
  connection->Send(RequestFrame(hello_id_, options_.hello, nullptr));
  // The hello's answer arrives through OnFrame, which cancels this wait (as does a close); wait
  // here so that the loop does not try the next address meanwhile.
  asio::steady_timer wait(io_);
  wait.expires_after(std::chrono::milliseconds(options_.hello_timeout_ms > 0 ? options_.hello_timeout_ms : options_.connect_timeout_ms));
  hello_wait_ = &wait;
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  hello_wait_ = nullptr;
  if (connection_ == connection && ready_) co_return Status::Ok();
  if (connection_ == connection) {
    connection_.reset();
    connection->Close("hello not answered");
  }
  co_return Status(Code::kUnavailable, last_error_.empty() ? "no answer to hello" : last_error_);
}

asio::awaitable<void> ClientTransport::Heartbeat() {
  asio::steady_timer timer(io_);
  retry_timer_ = &timer;
  while (!stopping_) {
    timer.expires_after(std::chrono::milliseconds(100));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) co_return;
    auto now = Clock::now();
    if (ready_ && connection_) {
      auto quiet = now - last_heard_;
      bool waiting = false;
      {
        std::lock_guard lock(calls_mutex_);
        waiting = !pending_.empty();
      }
      if (waiting && quiet > std::chrono::milliseconds(options_.silence_ms)) {
        spdlog::warn("transport.server_silent server={} silent_ms={}", connection_->peer(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count());
        auto dead = connection_;
        // A frozen server's kernel still accepts connections: try the others first for a while.
        silent_server_ = connected_index_;
        silent_until_ = now + std::chrono::milliseconds(2 * options_.silence_ms);
        OnClose("server did not answer for " + std::to_string(options_.silence_ms) + " ms");
        dead->Close("server silent");
      } else if (quiet > std::chrono::milliseconds(ping_interval_ms_)) {
        proto::Request ping;
        ping.mutable_ping();
        connection_->Send(RequestFrame(kPingId, ping, nullptr));
      }
    } else if (!first_connect_) {
      std::vector<Callback> expired;
      {
        std::lock_guard lock(calls_mutex_);
        for (auto it = pending_.begin(); it != pending_.end();) {
          if (it->second.sent || it->second.deadline > now) {
            ++it;
            continue;
          }
          expired.push_back(std::move(it->second.done));
          it = pending_.erase(it);
        }
      }
      for (Callback& done : expired) done(Status(Code::kUnavailable, "no server reachable: " + last_error_));
    }
  }
}

void ClientTransport::OnFrame(Frame frame) {
  last_heard_ = Clock::now();
  last_heard_ticks_ = last_heard_.time_since_epoch().count();
  if (frame.header.kind == proto::FrameKind::kPush && ready_) return OnPush(std::move(frame));
  if (frame.header.kind != proto::FrameKind::kResponse) return;
  uint64_t id = frame.header.request_id;
  if (id == kPingId) return;
  auto decoded = proto::DecodeResponse({reinterpret_cast<const uint8_t*>(frame.body.data()), frame.body.size()});
  if (id == hello_id_ && !ready_) {
    if (hello_wait_) hello_wait_->cancel();
    Status status = decoded.ok() ? proto::StatusOf(*decoded) : decoded.status();
    if (!status.ok()) {
      last_error_ = status.message();
      last_refusal_ = status.code();
      // A brick that is not its volume's primary (now): the next address may be.
      const bool try_next = status.code() == Code::kNotPrimary;
      if (try_next) {
        spdlog::debug("transport.not_primary error=\"{}\"", status.ToString());
      } else {
        spdlog::warn("transport.hello_refused error=\"{}\"", status.ToString());
      }
      if (first_connect_ && !try_next) {
        // A definite refusal (no such volume): no point in retrying the first connect.
        auto done = std::exchange(first_connect_, nullptr);
        done(status);
        stopping_ = true;
      }
      auto refused = std::exchange(connection_, nullptr);
      refused->Close("hello refused");
      return;
    }
    hello_ = decoded->hello();
    ping_interval_ms_ = options_.ping_interval_ms;
    if (hello_.push_ack_timeout_ms() > 0)
      ping_interval_ms_ = std::min<int>(ping_interval_ms_, hello_.push_ack_timeout_ms() / kPingsPerLease);
    ready_ = true;
    generation_.fetch_add(1);
    connected_ = true;
    spdlog::info("transport.connected server={} generation={}", connection_->peer(), generation_.load());
    auto first = std::exchange(first_connect_, nullptr);
    if (first) first(Status::Ok());
    {
      std::lock_guard lock(calls_mutex_);
      for (auto& [pending_id, pending] : pending_) SendLocked(pending);
      direct_ = connection_;  // after the calls that waited for it
    }
    if (!first && reconnect_handler_) reconnect_handler_();
    return;
  }
  Callback done;
  bool raced = false;
  {
    std::lock_guard lock(calls_mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // answered after we gave up on it
    if (decoded.ok() && decoded->status() == static_cast<uint32_t>(Code::kNotPrimary) && connection_) {
      // The brick lost its primary role before it applied the request: send it again to whichever
      // brick holds the role now.
      spdlog::info("transport.not_primary server={} error=\"{}\"", connection_->peer(), decoded->message());
      it->second.sent = false;
      connection_->Close("the server is no longer its volume's primary");
      return;
    }
    done = std::move(it->second.done);
    raced = it->second.pushes_at_send != pushes_received_;
    pending_.erase(it);
  }
  if (!decoded.ok()) {
    done(decoded.status());
    return;
  }
  done(Reply{.response = std::move(*decoded), .trailer = std::move(frame.trailer), .raced_push = raced});
}

void ClientTransport::OnPush(Frame frame) {
  proto::Push push;
  if (!push.ParseFromArray(frame.body.data(), static_cast<int>(frame.body.size())) ||
      push.op_case() == proto::Push::OP_NOT_SET || static_cast<uint16_t>(push.op_case()) != frame.header.opcode) {
    // A push we cannot carry out leaves our cache untrustworthy: start over on a new connection
    // (a reconnect drops everything cached).
    spdlog::warn("transport.bad_push server={} opcode={}", connection_->peer(), frame.header.opcode);
    auto bad = connection_;
    OnClose("push not understood");
    bad->Close("push not understood");
    return;
  }
  ++pushes_received_;
  pushes_seen_ = pushes_received_;
  if (!push_handler_) {
    Ack(generation_.load(), frame.header.request_id);
    return;
  }
  push_handler_(generation_.load(), frame.header.request_id, std::move(push));
}

void ClientTransport::Disconnect(const std::string& reason) {
  asio::post(io_, [this, reason] {
    if (connection_) connection_->Close(reason);
  });
}

void ClientTransport::SetReconnectHandler(std::function<void()> handler) {
  asio::post(io_, [this, handler = std::move(handler)]() mutable { reconnect_handler_ = std::move(handler); });
}

void ClientTransport::SetPushHandler(PushHandler handler) {
  asio::post(io_, [this, handler = std::move(handler)]() mutable { push_handler_ = std::move(handler); });
}

void ClientTransport::Ack(uint64_t generation, uint64_t push_id) {
  asio::post(io_, [this, generation, push_id] {
    if (!ready_ || !connection_ || generation != generation_.load()) return;
    Frame frame;
    frame.header.kind = proto::FrameKind::kPushAck;
    frame.header.opcode = static_cast<uint16_t>(proto::Push::kInvalidate);
    frame.header.request_id = push_id;
    frame.body = proto::Serialize(proto::PushAck());
    connection_->Send(std::move(frame));
  });
}

void ClientTransport::OnClose(const std::string& reason) {
  if (hello_wait_) hello_wait_->cancel();
  if (connection_ && ready_) spdlog::warn("transport.disconnected server={} reason=\"{}\"", connection_->peer(), reason);
  last_error_ = reason;
  connection_.reset();
  ready_ = false;
  connected_ = false;
  std::vector<Callback> lost;
  {
    // In one go with clearing direct_: a call made after this waits for the next connection.
    std::lock_guard lock(calls_mutex_);
    direct_ = nullptr;
    down_since_ = Clock::now();
    // A request that waited long on this server (one that kept answering pings while it could not
    // get the change replicated) still gets its full wait for the next one: failing it the moment
    // the connection drops would turn a failover into an error.
    const auto resend_until = down_since_ + std::chrono::milliseconds(options_.give_up_ms);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.sent && !it->second.retry_safe) {
        lost.push_back(std::move(it->second.done));
        it = pending_.erase(it);
      } else {
        if (it->second.sent) it->second.deadline = std::max(it->second.deadline, resend_until);
        it->second.sent = false;
        ++it;
      }
    }
  }
  for (Callback& done : lost) done(Status(Code::kUnavailable, "connection lost while the operation was in flight: " + reason));
  if (!stopping_) asio::co_spawn(io_, ConnectLoop(), asio::detached);
}

void ClientTransport::SendLocked(Pending& pending) {
  if (!ready_ || !connection_ || pending.sent) return;
  pending.sent = true;
  pending.pushes_at_send = pushes_received_;
  connection_->Send(pending.frame);  // a copy: the original stays for a resend
}

void ClientTransport::FailPending(const Status& status, bool only_unsent) {
  std::vector<Callback> failed;
  {
    std::lock_guard lock(calls_mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (only_unsent && it->second.sent) {
        ++it;
        continue;
      }
      failed.push_back(std::move(it->second.done));
      it = pending_.erase(it);
    }
  }
  for (Callback& done : failed) done(status);
}

void ClientTransport::Call(proto::Request request, Bulk trailer, bool retry_safe, Callback done) {
  const uint64_t id = next_id_++;
  Frame frame = RequestFrame(id, request, std::move(trailer));
  std::unique_lock lock(calls_mutex_);
  if (calls_stopped_) {
    lock.unlock();
    asio::post(io_, [done = std::move(done)] { done(Status(Code::kUnavailable, "client stopping")); });
    return;
  }
  const auto now = Clock::now();
  auto wait = std::chrono::milliseconds(options_.give_up_ms);
  const bool long_gone = !direct_ && now - down_since_ > wait;
  // Long gone: try again right away, but do not make every call wait the full time.
  if (long_gone) wait = std::min(wait, std::chrono::milliseconds(1000));
  auto [it, inserted] = pending_.emplace(id, Pending{.frame = std::move(frame),
                                                     .retry_safe = retry_safe,
                                                     .done = std::move(done),
                                                     .deadline = now + wait});
  if (direct_) {
    // Registered first, under the lock the io thread takes to match the answer: it cannot miss it.
    it->second.sent = true;
    it->second.pushes_at_send = pushes_seen_.load();
    direct_->Send(it->second.frame);  // a copy: the original stays for a resend
  }
  lock.unlock();
  if (long_gone) {
    asio::post(io_, [this] {
      retry_now_ = true;
      if (retry_timer_) retry_timer_->cancel();
    });
  }
}

Result<Reply> ClientTransport::CallSync(proto::Request request, Bulk trailer, bool retry_safe) {
  std::promise<Result<Reply>> promise;
  auto future = promise.get_future();
  Call(std::move(request), std::move(trailer), retry_safe,
       [&promise](Result<Reply> reply) { promise.set_value(std::move(reply)); });
  return future.get();
}

}  // namespace shoal::net
