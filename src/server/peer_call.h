// Calls from one server to another of its pool: an admin connection (a hello that names no
// volume) and a request answered on it.
#pragma once

#include <memory>

#include "common/host_port.h"
#include "common/status.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"

namespace shoal::server {

// Connects to the server at `address`; fails within `timeout_ms` if it does not answer as a
// shoal server.
Result<std::unique_ptr<net::ClientTransport>> ConnectAdmin(const HostPort& address, int timeout_ms);

// Sends `request` and returns the answer; the server's refusal comes back as the error.
Result<proto::Response> Ask(net::ClientTransport& transport, proto::Request request);

// Both: one request to the server named `name` (host:port).
Result<proto::Response> AskServer(const std::string& name, proto::Request request, int timeout_ms);

}  // namespace shoal::server
