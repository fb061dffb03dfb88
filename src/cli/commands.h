// The shoal CLI's commands: each file registers one command with the CLI11 app.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace shoal::cli {

// The exit code of the command that ran; set by the command's callback.
struct Outcome {
  int exit_code = 0;
};

struct Globals;  // cli/admin.h

void AddMountCommand(CLI::App& app, Outcome& outcome);
// Under `shoal peer`:
void AddPeerProbeCommand(CLI::App& peer, const Globals& globals, Outcome& outcome);
void AddPeerDetachCommand(CLI::App& peer, const Globals& globals, Outcome& outcome);
void AddPeerStatusCommand(CLI::App& peer, const Globals& globals, Outcome& outcome);
// Under `shoal pool`:
void AddPoolListCommand(CLI::App& pool, const Globals& globals, Outcome& outcome);

// Under `shoal volume`:
void AddVolumeCreateCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeStartCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeStopCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeDeleteCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeInfoCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeListCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeStatusCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeSetCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);  // and reset
void AddVolumeGetCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeHealCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeReplaceBrickCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);
void AddVolumeScrubCommand(CLI::App& volume, const Globals& globals, Outcome& outcome);

// mount(8)'s helper: mount.shoal SPEC DIR [-sfnv] [-o OPTIONS]
int MountHelperMain(int argc, char** argv);

}  // namespace shoal::cli
