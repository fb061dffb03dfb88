#include "cli/admin.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "common/host_port.h"
#include "net/admin_call.h"

namespace shoal::cli {

Result<proto::Response> CallAdmin(const std::string& server, proto::Request request, int connect_timeout_ms) {
  auto address = ParseHostPort(server);
  if (!address.ok()) return Status(Code::kInvalidArgument, "bad --server: " + address.status().message());
  return net::AskAdmin({*address}, std::move(request), "shoal", connect_timeout_ms);
}

bool Confirm(const std::string& command, const std::string& question, bool yes) {
  if (yes) return true;
  if (!::isatty(STDIN_FILENO)) {
    fmt::print(stderr, "shoal {}: not asking on a non-terminal; pass --yes to go ahead\n", command);
    return false;
  }
  fmt::print("{} (y/N) ", question);
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

std::string StateName(proto::ServerState state) {
  switch (state) {
    case proto::SERVER_STATE_CONNECTED: return "connected";
    case proto::SERVER_STATE_DOWN: return "down";
    default: return "unknown";
  }
}

std::string MemberIdText(uint64_t id) { return id == 0 ? "-" : fmt::format("{:x}", id); }

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  auto print = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i)
      line += i + 1 == cells.size() ? cells[i] : fmt::format("{:<{}}  ", cells[i], widths[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  };
  print(header);
  for (const auto& row : rows) print(row);
}

nlohmann::json ServerJson(const proto::PoolServer& server) {
  return {{"name", server.name()},
          {"address", server.address()},
          {"state", StateName(server.state())},
          {"etcd_member_id", MemberIdText(server.etcd_member_id())},
          {"self", server.self()}};
}

int Fail(const std::string& command, const Status& status) {
  fmt::print(stderr, "shoal {}: {}\n", command, status.message());
  return 1;
}

}  // namespace shoal::cli
