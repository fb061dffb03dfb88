// RunMount: mounts a volume and serves it until it is unmounted.
//
// Unless options.foreground, the caller's process waits only until the mount is in place (or has
// failed, with the reason printed on stderr) and exits; a child process serves the mount.
#pragma once

#include "fuse/mount_options.h"

namespace shoal::fuse {

// Returns the process exit code: 0 once mounted (background) or after unmount (foreground).
int RunMount(const MountOptions& options);

}  // namespace shoal::fuse
