#include "net/connection.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

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
  std::unique_lock lock(mutex_);
  if (closed_) return;
  size_t written = 0;
  if (!writing_) {  // nothing queued: this frame is next on the wire
    const proto::HeaderBytes header =
        proto::EncodeHeader(frame.header, Bytes(frame.body), Bytes(View(frame.trailer)));
    written = WriteNowLocked(frame, header);
    if (written == header.size() + frame.body.size() + View(frame.trailer).size()) return;
    front_written_ = written;  // the io thread sends the rest
  }
  outbox_.push_back(std::move(frame));
  const bool start = !writing_;
  writing_ = true;
  lock.unlock();
  if (start)
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->WriteLoop(); },
                   asio::detached);
}

size_t Connection::WriteNowLocked(const Frame& frame, const proto::HeaderBytes& header) {
  std::array<iovec, 3> parts;
  size_t count = 0;
  parts[count++] = {const_cast<uint8_t*>(header.data()), header.size()};
  if (!frame.body.empty()) parts[count++] = {const_cast<char*>(frame.body.data()), frame.body.size()};
  if (const std::string_view trailer = View(frame.trailer); !trailer.empty())
    parts[count++] = {const_cast<char*>(trailer.data()), trailer.size()};
  msghdr message{};
  message.msg_iov = parts.data();
  message.msg_iovlen = count;
  // The socket stays open meanwhile: CloseOnIoThread marks it closed under mutex_ first.
  ssize_t sent;
  do {
    sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  // A full socket takes nothing now; a broken one fails again in WriteLoop, which closes it.
  return sent < 0 ? 0 : static_cast<size_t>(sent);
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

// Reads into a buffer of kReadBytes and cuts frames out of it: a small frame costs one recv
// rather than one for its header and one for the rest. What a large frame has beyond the
// buffer is read straight into its body or trailer, never copied twice.
asio::awaitable<void> Connection::ReadLoop() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  std::string in(kReadBytes, '\0');
  size_t begin = 0, end = 0;  // the bytes read and not yet taken
  // Fills `out` from the buffer first, then from the socket.
  auto take = [&](char* out, size_t n) -> asio::awaitable<void> {
    const size_t buffered = std::min(n, end - begin);
    std::memcpy(out, in.data() + begin, buffered);
    begin += buffered;
    if (buffered < n)
      co_await asio::async_read(socket_, asio::buffer(out + buffered, n - buffered),
                                asio::redirect_error(asio::use_awaitable, ec));
  };
  for (;;) {
    proto::HeaderBytes raw;
    while (end - begin < raw.size()) {
      if (begin == end) begin = end = 0;
      if (in.size() - begin < raw.size()) {  // too little room left for a header: move the rest down
        std::memmove(in.data(), in.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      end += co_await socket_.async_read_some(asio::buffer(in.data() + end, in.size() - end),
                                              asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec) break;
    std::memcpy(raw.data(), in.data() + begin, raw.size());
    begin += raw.size();
    auto header = proto::DecodeHeader(raw);
    if (!header.ok()) {
      spdlog::warn("connection.bad_frame peer={} error=\"{}\"", peer_, header.status().ToString());
      CloseOnIoThread("bad frame: " + header.status().message());
      co_return;
    }
    Frame frame{.header = *header};
    frame.body.resize(header->body_bytes);
    co_await take(frame.body.data(), frame.body.size());
    if (ec) break;
    auto trailer = std::make_shared<std::string>(header->trailer_bytes, '\0');
    co_await take(trailer->data(), trailer->size());
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
    size_t already_sent = 0;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || outbox_.empty()) {
        writing_ = false;
        co_return;
      }
      already_sent = std::exchange(front_written_, 0);
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
    // What Send wrote of the first frame before the socket filled up.
    auto unsent = buffers.begin();
    for (; already_sent > 0 && already_sent >= unsent->size(); ++unsent) already_sent -= unsent->size();
    if (already_sent > 0) *unsent += already_sent;
    buffers.erase(buffers.begin(), unsent);
    boost::system::error_code ec;
    co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      CloseOnIoThread("write failed: " + ec.message());
      co_return;
    }
  }
}

}  // namespace shoal::net
