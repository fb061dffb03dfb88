// Connection: one TCP connection carrying frames both ways, many in flight, in any order.
//
// Threading: reads, and writes that must wait for room in the socket, run on the io_context's
// thread (shoal runs each io_context on exactly one thread). Send and Close may be called from any
// thread. Send writes the frame at once from the calling thread when nothing is queued before it
// and the socket takes it whole: waking the io thread to write costs a context switch per frame,
// several microseconds each on a small virtual machine, and a replicated change sends four or
// more frames on each server. What the socket does not take is queued for the io thread.
// Frames from the peer are untrusted: a frame that fails DecodeHeader or VerifyFrame closes the
// connection with a log line naming the peer and the reason, and nothing else is affected.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "net/asio.h"
#include "net/frame.h"

namespace shoal::net {

class Connection;

// What a connection delivers to the layer above. Called on the io thread; must not block.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void OnFrame(Frame frame) = 0;
  // Called once, when the connection is closed for any reason.
  virtual void OnClose(const std::string& reason) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading; frames go to `sink` until the connection closes.
  void Start(std::shared_ptr<FrameSink> sink);
  // Queues a frame (header.body_bytes/trailer_bytes/checksum are filled in here).
  void Send(Frame frame);
  void Close(const std::string& reason);
  const std::string& peer() const { return peer_; }
  bool closed() const;

 private:
  static constexpr size_t kReadBytes = 64u << 10;  // ReadLoop's buffer
  asio::awaitable<void> ReadLoop();
  asio::awaitable<void> WriteLoop();
  // Writes `frame` without blocking, under mutex_; returns how many of its bytes the socket took.
  size_t WriteNowLocked(const Frame& frame, const proto::HeaderBytes& header);
  void CloseOnIoThread(const std::string& reason);

  tcp::socket socket_;
  const std::string peer_;
  std::shared_ptr<FrameSink> sink_;  // io thread only
  mutable std::mutex mutex_;
  std::deque<Frame> outbox_;         // guarded by mutex_
  size_t front_written_ = 0;         // guarded by mutex_: bytes of outbox_.front() already sent
  bool writing_ = false;             // guarded by mutex_
  bool closed_ = false;              // guarded by mutex_
};

}  // namespace shoal::net
