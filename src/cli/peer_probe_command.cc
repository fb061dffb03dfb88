// shoal peer probe HOST[:PORT]: adds a server to the pool of the server we talk to.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"

namespace shoal::cli {

void AddPeerProbeCommand(CLI::App& peer, const Globals& globals, Outcome& outcome) {
  auto address = std::make_shared<std::string>();
  CLI::App* probe = peer.add_subcommand("probe", "add a server to the pool (it must be alone in a pool of its own)");
  probe->add_option("address", *address, "HOST[:PORT] of the server to add (default port 24100)")->required();
  probe->callback([address, &globals, &outcome] {
    proto::Request request;
    request.mutable_peer_probe()->set_address(*address);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("peer probe", answer.status());
      return;
    }
    fmt::print("peer probe: {} joined the pool\n", answer->peer_probe().server().name());
  });
}

}  // namespace shoal::cli
