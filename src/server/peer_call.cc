#include "server/peer_call.h"

#include "proto/messages.h"

namespace shoal::server {
namespace {
constexpr uint32_t kProtocolVersion = 1;
}  // namespace

Result<std::unique_ptr<net::ClientTransport>> ConnectAdmin(const HostPort& address, int timeout_ms) {
  proto::Request hello;
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  hello.mutable_hello()->set_client_name("shoald");
  return net::ClientTransport::Connect(
      {.servers = {address}, .hello = std::move(hello), .connect_timeout_ms = timeout_ms, .give_up_ms = timeout_ms});
}

Result<proto::Response> Ask(net::ClientTransport& transport, proto::Request request) {
  auto reply = transport.CallSync(std::move(request), nullptr, /*retry_safe=*/false);
  if (!reply.ok()) return reply.status();
  Status status = proto::StatusOf(reply->response);
  if (!status.ok()) return status;
  return std::move(reply->response);
}

Result<proto::Response> AskServer(const std::string& name, proto::Request request, int timeout_ms) {
  auto address = ParseHostPort(name);
  if (!address.ok()) return address.status();
  auto transport = ConnectAdmin(*address, timeout_ms);
  if (!transport.ok()) return transport.status();
  return Ask(**transport, std::move(request));
}

}  // namespace shoal::server
