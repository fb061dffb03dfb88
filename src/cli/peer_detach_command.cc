// shoal peer detach HOST[:PORT] [--force] [--yes]: removes a server from the pool.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"

namespace shoal::cli {

void AddPeerDetachCommand(CLI::App& peer, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool force = false;
    bool yes = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* detach = peer.add_subcommand("detach", "remove a server from the pool");
  detach->add_option("server", args->name, "HOST[:PORT] of the server to remove, as `peer status` names it")->required();
  detach->add_flag("--force", args->force, "remove it even if it is down (it is not told)");
  detach->add_flag("-y,--yes", args->yes, "do not ask for confirmation");
  detach->callback([args, &globals, &outcome] {
    if (!Confirm("peer detach", fmt::format("Detach {} from the pool?", args->name), args->yes)) {
      outcome.exit_code = 1;
      return;
    }
    proto::Request request;
    request.mutable_peer_detach()->set_name(args->name);
    request.mutable_peer_detach()->set_force(args->force);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("peer detach", answer.status());
      return;
    }
    fmt::print("peer detach: {} left the pool\n", args->name);
  });
}

}  // namespace shoal::cli
