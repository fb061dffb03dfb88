// shoal volume stop NAME [--yes]: stops serving the volume; its clients lose it until it starts.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"

namespace shoal::cli {

void AddVolumeStopCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool yes = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* stop = volume.add_subcommand("stop", "stop serving a volume: its clients lose it until it starts again");
  stop->add_option("name", args->name, "the volume")->required();
  stop->add_flag("-y,--yes", args->yes, "do not ask for confirmation");
  stop->callback([args, &globals, &outcome] {
    if (!Confirm("volume stop",
                 fmt::format("Stopping volume {} makes its data unavailable to its clients. Continue?", args->name),
                 args->yes)) {
      outcome.exit_code = 1;
      return;
    }
    proto::Request request;
    request.mutable_volume_stop()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume stop", answer.status());
      return;
    }
    fmt::print("volume stop: {}: success\n", args->name);
  });
}

}  // namespace shoal::cli
