#include "net/connection.h"

#include <netinet/tcp.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shoal::net {
namespace {

std::string PeerOf(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

}  // namespace

Connection::Connection(tcp::socket socket) : socket_(std::move(socket)), peer_(PeerOf(socket_)) {
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
}

Connection::~Connection() = default;

void Connection::Start(std::shared_ptr<FrameSink> sink) {
  sink_ = std::move(sink);
  asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->ReadLoop(); },
                 asio::detached);
}

bool Connection::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void Connection::Send(Frame frame) {
  bool start = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    outbox_.push_back(std::move(frame));
    start = !writing_;
    writing_ = true;
  }
  if (start)
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->WriteLoop(); },
                   asio::detached);
}

void Connection::Close(const std::string& reason) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), reason] { self->CloseOnIoThread(reason); });
}

void Connection::CloseOnIoThread(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    outbox_.clear();
  }
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (sink_) {
    auto sink = std::move(sink_);
    sink->OnClose(reason);
  }
}

asio::awaitable<void> Connection::ReadLoop() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  for (;;) {
    proto::HeaderBytes raw;
    co_await asio::async_read(socket_, asio::buffer(raw), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    auto header = proto::DecodeHeader(raw);
    if (!header.ok()) {
      spdlog::warn("connection.bad_frame peer={} error=\"{}\"", peer_, header.status().ToString());
      CloseOnIoThread("bad frame: " + header.status().message());
      co_return;
    }
    Frame frame{.header = *header};
    frame.body.resize(header->body_bytes);
    auto trailer = std::make_shared<std::string>(header->trailer_bytes, '\0');
    std::array<asio::mutable_buffer, 2> rest{asio::buffer(frame.body), asio::buffer(*trailer)};
    co_await asio::async_read(socket_, rest, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    Status verified = proto::VerifyFrame(frame.header, Bytes(frame.body), Bytes(*trailer));
    if (!verified.ok()) {
      spdlog::warn("connection.bad_frame peer={} error=\"{}\"", peer_, verified.ToString());
      CloseOnIoThread("bad frame: " + verified.message());
      co_return;
    }
    if (!trailer->empty()) frame.trailer = std::move(trailer);
    if (!sink_) co_return;  // closed meanwhile
    sink_->OnFrame(std::move(frame));
  }
  CloseOnIoThread(ec == asio::error::eof ? "peer closed the connection" : ec.message());
}

asio::awaitable<void> Connection::WriteLoop() {
  auto self = shared_from_this();
  std::vector<Frame> batch;
  std::vector<proto::HeaderBytes> headers;
  std::vector<asio::const_buffer> buffers;
  for (;;) {
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      if (closed_ || outbox_.empty()) {
        writing_ = false;
        co_return;
      }
      while (!outbox_.empty() && batch.size() < 64) {
        batch.push_back(std::move(outbox_.front()));
        outbox_.pop_front();
      }
    }
    headers.resize(batch.size());
    buffers.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      headers[i] = proto::EncodeHeader(batch[i].header, Bytes(batch[i].body), Bytes(View(batch[i].trailer)));
      buffers.push_back(asio::buffer(headers[i]));
      if (!batch[i].body.empty()) buffers.push_back(asio::buffer(batch[i].body));
      if (!View(batch[i].trailer).empty()) buffers.push_back(asio::buffer(*batch[i].trailer));
    }
    boost::system::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      CloseOnIoThread("write failed: " + ec.message());
      co_return;
    }
  }
}

}  // namespace shoal::net
