// shoal peer status [--json]: the other servers of the pool, as the server we talk to sees them.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddPeerStatusCommand(CLI::App& peer, const Globals& globals, Outcome& outcome) {
  auto json = std::make_shared<bool>(false);
  CLI::App* status = peer.add_subcommand("status", "the other servers of the pool and whether they are connected");
  status->add_flag("--json", *json, "print JSON: {\"peers\": [{name, address, state, etcd_member_id}]}");
  status->callback([json, &globals, &outcome] {
    proto::Request request;
    request.mutable_pool_list();
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("peer status", answer.status());
      return;
    }
    NoteStaleness(answer->pool_list().staleness());
    std::vector<proto::PoolServer> peers;
    for (const auto& server : answer->pool_list().servers())
      if (!server.self()) peers.push_back(server);
    if (*json) {
      nlohmann::json out = {{"peers", nlohmann::json::array()}, {"stale", answer->pool_list().staleness().stale()}};
      for (const auto& server : peers) {
        nlohmann::json entry = ServerJson(server);
        entry.erase("self");
        out["peers"].push_back(std::move(entry));
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("Number of peers: {}\n", peers.size());
    if (peers.empty()) return;
    fmt::print("\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& server : peers)
      rows.push_back({server.name(), server.address(), StateName(server.state()), MemberIdText(server.etcd_member_id())});
    PrintTable({"NAME", "ADDRESS", "STATE", "ETCD MEMBER"}, rows);
  });
}

}  // namespace shoal::cli
