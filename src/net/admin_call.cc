#include "net/admin_call.h"

#include "proto/messages.h"

namespace shoal::net {
namespace {
constexpr uint32_t kProtocolVersion = 1;
}  // namespace

Result<std::unique_ptr<ClientTransport>> ConnectAdmin(const std::vector<HostPort>& servers,
                                                      const std::string& client_name, int timeout_ms) {
  proto::Request hello;
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  hello.mutable_hello()->set_client_name(client_name);
  return ClientTransport::Connect(
      {.servers = servers, .hello = std::move(hello), .connect_timeout_ms = timeout_ms, .give_up_ms = timeout_ms});
}

Result<proto::Response> Ask(ClientTransport& transport, proto::Request request, bool retry_safe) {
  auto reply = transport.CallSync(std::move(request), nullptr, retry_safe);
  if (!reply.ok()) return reply.status();
  Status status = proto::StatusOf(reply->response);
  if (!status.ok()) return status;
  return std::move(reply->response);
}

Result<proto::Response> AskAdmin(const std::vector<HostPort>& servers, proto::Request request,
                                 const std::string& client_name, int timeout_ms, bool retry_safe) {
  auto transport = ConnectAdmin(servers, client_name, timeout_ms);
  if (!transport.ok()) return transport.status();
  return Ask(**transport, std::move(request), retry_safe);
}

}  // namespace shoal::net
