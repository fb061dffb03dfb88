// shoal volume delete NAME [--yes]: removes a stopped volume's definition; its bricks keep the data.
#include <fmt/format.h>

#include "cli/admin.h"
#include "cli/commands.h"

namespace shoal::cli {

void AddVolumeDeleteCommand(CLI::App& volume, const Globals& globals, Outcome& outcome) {
  struct Args {
    std::string name;
    bool yes = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* remove = volume.add_subcommand("delete", "remove a stopped volume's definition (its bricks keep the data)");
  remove->add_option("name", args->name, "the volume")->required();
  remove->add_flag("-y,--yes", args->yes, "do not ask for confirmation");
  remove->callback([args, &globals, &outcome] {
    if (!Confirm("volume delete",
                 fmt::format("Deleting volume {} removes its definition from the pool (the files stay in its brick "
                             "directories). Continue?", args->name),
                 args->yes)) {
      outcome.exit_code = 1;
      return;
    }
    proto::Request request;
    request.mutable_volume_delete()->set_name(args->name);
    auto answer = CallAdmin(globals.server, std::move(request));
    if (!answer.ok()) {
      outcome.exit_code = Fail("volume delete", answer.status());
      return;
    }
    fmt::print("volume delete: {}: success (its files stay in its brick directories)\n", args->name);
  });
}

}  // namespace shoal::cli
