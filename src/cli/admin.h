// What the pool commands (`shoal peer ...`, `shoal pool ...`) share: the global --server option,
// an admin connection to that server, the confirmation asked before a destructive change, and
// the table and JSON forms of a server list.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "proto/shoal.pb.h"

namespace shoal::cli {

// Options of the whole program, given before the command.
struct Globals {
  std::string server = "127.0.0.1:24100";  // HOST[:PORT] of the server the commands talk to
};

// Connects to `server` as an admin client (a hello that names no volume), sends `request` and
// waits for the answer; the server's refusal comes back as the error. Fails within
// `connect_timeout_ms` if the server cannot be reached.
Result<proto::Response> CallAdmin(const std::string& server, proto::Request request, int connect_timeout_ms = 3000);

// True if the user agrees to `question`: --yes, or "y"/"yes" typed on a terminal. Off a
// terminal without --yes, says to pass --yes and returns false.
bool Confirm(const std::string& command, const std::string& question, bool yes);

// "connected", "down" or "unknown".
std::string StateName(proto::ServerState state);
// The etcd member id as etcd prints it (hex), or "-" for none.
std::string MemberIdText(uint64_t id);

// Prints rows under a header, each column as wide as its widest cell, two spaces apart.
void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

nlohmann::json ServerJson(const proto::PoolServer& server);

// Prints "shoal COMMAND: MESSAGE" on stderr; the exit code for a refused or failed command.
int Fail(const std::string& command, const Status& status);

}  // namespace shoal::cli
