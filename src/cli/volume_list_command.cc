// shoal volume list [--json]: the names of the pool's volumes.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddVolumeListCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  auto json = std::make_shared<bool>(false);
  CLI::App* list = volume.add_subcommand("list", "the pool's volumes, one name per line");
  list->add_flag("--json", *json, "print JSON: {\"volumes\": [{name, state}]}");
  list->callback([json, &globals, &outcome] {
    proto::Request request;
    request.mutable_volume_info();
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume list", answer.status());
      return;
    }
    const auto& info = answer->volume_info();
    NoteStaleness(info.staleness());
    if (*json) {
      nlohmann::json out = {{"volumes", nlohmann::json::array()}, {"stale", info.staleness().stale()}};
      for (const auto& v : info.volumes())
        out["volumes"].push_back({{"name", v.name()}, {"state", VolumeStateName(v.state())}});
      fmt::print("{}\n", out.dump(2));
      return;
    }
    if (info.volumes().empty()) fmt::print("No volumes present in the pool\n");
    for (const auto& v : info.volumes()) fmt::print("{}\n", v.name());
  });
}

}  // namespace shoal::cli
