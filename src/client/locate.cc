#include "client/locate.h"

#include <fmt/format.h>

#include "net/client_transport.h"
#include "proto/messages.h"

namespace shoal::client {

Result<proto::Volume> LocateVolume(const std::vector<HostPort>& servers, const std::string& volume,
                                   int connect_timeout_ms) {
  proto::Request hello;  // an admin hello: it names no volume
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_client_name("shoal mount");
  auto transport = net::ClientTransport::Connect({.servers = servers, .hello = std::move(hello),
                                                  .connect_timeout_ms = connect_timeout_ms,
                                                  .give_up_ms = connect_timeout_ms});
  if (!transport.ok()) return transport.status();
  proto::Request locate;
  locate.mutable_volume_locate()->set_name(volume);
  auto reply = (*transport)->CallSync(std::move(locate), nullptr, /*retry_safe=*/true);
  if (!reply.ok()) return reply.status();
  SHOAL_RETURN_IF_ERROR(proto::StatusOf(reply->response));
  return reply->response.volume_locate().volume();
}

Result<std::vector<HostPort>> BrickServers(const proto::Volume& volume) {
  std::vector<HostPort> servers;
  for (const proto::BrickRef& brick : volume.bricks()) {
    auto address = ParseHostPort(brick.server());
    if (!address.ok())
      return Status(Code::kBadMessage, fmt::format("volume {} names a brick server '{}' that is not an address",
                                                   volume.name(), brick.server()));
    servers.push_back(*address);
  }
  if (servers.empty()) return Status(Code::kBadMessage, fmt::format("volume {} has no bricks", volume.name()));
  return servers;
}

}  // namespace shoal::client
