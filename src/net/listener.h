// Listener: accepts TCP connections on one address and hands each to the layer above.
//
// It owns its io_context and the one thread that runs it: every connection it accepts does its
// socket work there. Start and the destructor may be called from any thread but the io thread.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "common/status.h"
#include "net/connection.h"

namespace shoal::net {

class Listener {
 public:
  // Called on the io thread for every accepted connection; returns the sink for its frames.
  using SinkFactory = std::function<std::shared_ptr<FrameSink>(std::shared_ptr<Connection>)>;

  // Binds, listens (port 0 picks a free port; see port()) and starts accepting.
  static Result<std::unique_ptr<Listener>> Start(const std::string& address, uint16_t port, SinkFactory factory);
  // Stops accepting, closes the io_context (and with it every connection) and joins its thread.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }

 private:
  Listener(SinkFactory factory) : factory_(std::move(factory)) {}
  asio::awaitable<void> AcceptLoop();

  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  const SinkFactory factory_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace shoal::net
