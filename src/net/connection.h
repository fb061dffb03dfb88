// Connection: one TCP connection carrying frames both ways, many in flight, in any order.
//
// Threading: every socket operation runs on the io_context's thread (shoal runs each io_context
// on exactly one thread). Send and Close may be called from any thread; they post onto it.
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
  asio::awaitable<void> ReadLoop();
  asio::awaitable<void> WriteLoop();
  void CloseOnIoThread(const std::string& reason);

  tcp::socket socket_;
  const std::string peer_;
  std::shared_ptr<FrameSink> sink_;  // io thread only
  mutable std::mutex mutex_;
  std::deque<Frame> outbox_;         // guarded by mutex_
  bool writing_ = false;             // guarded by mutex_
  bool closed_ = false;              // guarded by mutex_
};

}  // namespace shoal::net
