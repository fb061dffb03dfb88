// shoal: the command-line tool. Also installed as mount.shoal, the helper mount(8) calls for
// `mount -t shoal` and fstab lines.
#include <cstring>
#include <string_view>

#include "cli/admin.h"
#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  std::string_view name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
  if (name == "mount.shoal") return shoal::cli::MountHelperMain(argc, argv);

  // Quiet unless something goes wrong; `shoal mount` sets up its own logging.
  shoal::SetUpLogging({.program = "shoal", .level = "error"});
  CLI::App app{"shoal: a replicated network filesystem"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command: `shoal pool list --server H`
  app.set_version_flag("--version", SHOAL_VERSION);
  shoal::cli::Outcome outcome;
  shoal::cli::Globals globals;
  app.add_option("--server", globals.server, "HOST[:PORT] of the server to talk to")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  shoal::cli::AddMountCommand(app, outcome);
  CLI::App* peer = app.add_subcommand("peer", "the servers of the pool: probe, detach, status");
  peer->require_subcommand(1);
  shoal::cli::AddPeerProbeCommand(*peer, globals, outcome);
  shoal::cli::AddPeerDetachCommand(*peer, globals, outcome);
  shoal::cli::AddPeerStatusCommand(*peer, globals, outcome);
  CLI::App* pool = app.add_subcommand("pool", "the pool as a whole: list");
  pool->require_subcommand(1);
  shoal::cli::AddPoolListCommand(*pool, globals, outcome);
  CLI::App* volume = app.add_subcommand(
      "volume", "volumes: create, start, stop, delete, info, list, status, set, get, heal, replace-brick, scrub");
  volume->require_subcommand(1);
  shoal::cli::AddVolumeCreateCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeStartCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeStopCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeDeleteCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeInfoCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeListCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeStatusCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeSetCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeGetCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeHealCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeReplaceBrickCommand(*volume, globals, outcome);
  shoal::cli::AddVolumeScrubCommand(*volume, globals, outcome);
  CLI11_PARSE(app, argc, argv);
  return outcome.exit_code;
}
