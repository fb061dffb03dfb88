// Locating a volume before mounting it: any server of the pool answers with the volume's record
// (which servers hold its bricks), so a client may name a server that holds no brick.
#pragma once

#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "proto/shoal.pb.h"

namespace shoal::client {

// Asks the first of `servers` that answers (the rest are backups) for volume `volume`. Fails with
// the servers' reason (no such volume, not started, ...) or, within `connect_timeout_ms` per
// server, with every address tried.
Result<proto::Volume> LocateVolume(const std::vector<HostPort>& servers, const std::string& volume,
                                   int connect_timeout_ms);

// The servers a client of `volume` talks to: those of its bricks, in brick order.
Result<std::vector<HostPort>> BrickServers(const proto::Volume& volume);

}  // namespace shoal::client
