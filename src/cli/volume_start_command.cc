// shoal volume start NAME [force]: serves the volume's bricks, so that clients can mount it.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/volume_view.h"

namespace shoal::cli {

void AddVolumeStartCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    std::string force;
  };
  auto args = std::make_shared<Args>();
  CLI::App* start = volume.add_subcommand("start", "start serving a volume: start NAME [force]");
  start->add_option("name", args->name, "the volume")->required();
  start->add_option("force", args->force, "`force`: start it again even if it is started (re-serves its bricks)")
      ->check(CLI::IsMember({"force"}));
  start->callback([args, &globals, &outcome] {
    proto::Request request;
    request.mutable_volume_start()->set_name(args->name);
    request.mutable_volume_start()->set_force(args->force == "force");
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume start", answer.status());
      return;
    }
    for (const auto& brick : answer->volume_start().bricks())
      if (brick.state() != "online")
        fmt::print(stderr, "warning: brick {}:{} is {}: {}\n", brick.server(), brick.path(), brick.state(), brick.reason());
    fmt::print("volume start: {}: success\n", args->name);
  });
}

}  // namespace shoal::cli
