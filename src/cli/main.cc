// shoal: the command-line tool. Also installed as mount.shoal, the helper mount(8) calls for
// `mount -t shoal` and fstab lines.
#include <cstring>
#include <string_view>

#include "cli/commands.h"

int main(int argc, char** argv) {
  std::string_view name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
  if (name == "mount.shoal") return shoal::cli::MountHelperMain(argc, argv);

  CLI::App app{"shoal: a replicated network filesystem"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SHOAL_VERSION);
  shoal::cli::Outcome outcome;
  shoal::cli::AddMountCommand(app, outcome);
  CLI11_PARSE(app, argc, argv);
  return outcome.exit_code;
}
