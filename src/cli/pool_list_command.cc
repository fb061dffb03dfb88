// shoal pool list [--json]: every server of the pool, the one we talk to included.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddPoolListCommand(CLI::App& pool, const Globals& globals, Outcome& outcome) {
  auto json = std::make_shared<bool>(false);
  CLI::App* list = pool.add_subcommand("list", "every server of the pool, this one included");
  list->add_flag("--json", *json, "print JSON: {\"servers\": [{name, address, state, etcd_member_id, self}]}");
  list->callback([json, &globals, &outcome] {
    proto::Request request;
    request.mutable_pool_list();
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("pool list", answer.status());
      return;
    }
    NoteStaleness(answer->pool_list().staleness());
    if (*json) {
      nlohmann::json out = {{"servers", nlohmann::json::array()}, {"stale", answer->pool_list().staleness().stale()}};
      for (const auto& server : answer->pool_list().servers()) out["servers"].push_back(ServerJson(server));
      fmt::print("{}\n", out.dump(2));
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& server : answer->pool_list().servers())
      rows.push_back({server.name(), server.address(), StateName(server.state()), MemberIdText(server.etcd_member_id()),
                      server.self() ? "(this server)" : ""});
    PrintTable({"NAME", "ADDRESS", "STATE", "ETCD MEMBER", ""}, rows);
  });
}

}  // namespace shoal::cli
