#include "client/locate.h"

#include <fmt/format.h>

#include "net/admin_call.h"

namespace shoal::client {

Result<proto::Volume> LocateVolume(const std::vector<HostPort>& servers, const std::string& volume,
                                   int connect_timeout_ms) {
  proto::Request locate;
  locate.mutable_volume_locate()->set_name(volume);
  auto answer = net::AskAdmin(servers, std::move(locate), "shoal mount", connect_timeout_ms, /*retry_safe=*/true);
  if (!answer.ok()) return answer.status();
  return answer->volume_locate().volume();
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
