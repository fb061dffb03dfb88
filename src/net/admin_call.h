// Admin calls: a connection whose hello names no volume, and requests answered on it. The CLI
// uses them to talk to a server, a client to locate the volume it mounts, and servers to talk to
// each other.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"

namespace shoal::net {

// Connects to the first of `servers` that answers as a shoal server (the rest are backups);
// fails within `timeout_ms` per server with every address tried.
Result<std::unique_ptr<ClientTransport>> ConnectAdmin(const std::vector<HostPort>& servers,
                                                      const std::string& client_name, int timeout_ms);

// Sends `request` and returns the answer; the server's refusal comes back as the error.
Result<proto::Response> Ask(ClientTransport& transport, proto::Request request, bool retry_safe = false);

// Both: one request to the first of `servers` that answers.
Result<proto::Response> AskAdmin(const std::vector<HostPort>& servers, proto::Request request,
                                 const std::string& client_name, int timeout_ms, bool retry_safe = false);

}  // namespace shoal::net
