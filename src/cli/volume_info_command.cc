// shoal volume info [NAME] [--json]: the definition of one volume, or of every volume.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddVolumeInfoCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* info = volume.add_subcommand("info", "a volume's definition: type, bricks, state, options set");
  info->add_option("name", args->name, "the volume (default: every volume)");
  info->add_flag("--json", args->json, "print JSON: {\"volumes\": [{name, id, type, replica, state, bricks, options}]}");
  info->callback([args, &globals, &outcome] {
    proto::Request request;
    request.mutable_volume_info()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume info", answer.status());
      return;
    }
    const auto& info = answer->volume_info();
    NoteStaleness(info.staleness());
    if (args->json) {
      nlohmann::json out = {{"volumes", nlohmann::json::array()}, {"stale", info.staleness().stale()}};
      for (const auto& v : info.volumes()) out["volumes"].push_back(VolumeJson(v));
      fmt::print("{}\n", out.dump(2));
      return;
    }
    if (info.volumes().empty()) {
      fmt::print("No volumes present\n");
      return;
    }
    for (int i = 0; i < info.volumes_size(); ++i) {
      if (i > 0) fmt::print("\n");
      PrintVolumeInfo(info.volumes(i));
    }
  });
}

}  // namespace shoal::cli
