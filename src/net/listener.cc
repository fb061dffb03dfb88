#include "net/listener.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shoal::net {

Result<std::unique_ptr<Listener>> Listener::Start(const std::string& address, uint16_t port, SinkFactory factory) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return Status(Code::kInvalidArgument, fmt::format("bad listen address {}: {}", address, ec.message()));
  std::unique_ptr<Listener> listener(new Listener(std::move(factory)));
  tcp::acceptor& acceptor = listener->acceptor_;
  tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status(Code::kUnavailable, fmt::format("cannot listen on {}:{}: {}", address, port, ec.message()));
  listener->port_ = acceptor.local_endpoint().port();
  asio::co_spawn(listener->io_, listener->AcceptLoop(), asio::detached);
  listener->thread_ = std::thread([l = listener.get()] { l->io_.run(); });
  return listener;
}

Listener::~Listener() {
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> Listener::AcceptLoop() {
  asio::steady_timer pause(io_);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors, most likely: say so and give the server a moment to free some.
      spdlog::warn("listener.accept_failed error=\"{}\"", ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(socket));
    connection->Start(factory_(connection));
  }
}

}  // namespace shoal::net
