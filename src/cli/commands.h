// The shoal CLI's commands: each file registers one command with the CLI11 app.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace shoal::cli {

// The exit code of the command that ran; set by the command's callback.
struct Outcome {
  int exit_code = 0;
};

void AddMountCommand(CLI::App& app, Outcome& outcome);

// mount(8)'s helper: mount.shoal SPEC DIR [-sfnv] [-o OPTIONS]
int MountHelperMain(int argc, char** argv);

}  // namespace shoal::cli
