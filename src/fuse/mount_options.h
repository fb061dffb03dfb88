// MountOptions: what `shoal mount`, `mount -t shoal` and fstab lines say about a mount.
//
//   SPEC = HOST[:PORT]:/VOLUME
//   -o backup-servers=H2[:P]:H3[:P], attr-timeout=S, entry-timeout=S, negative-timeout=S,
//      connect-timeout=S, reads=spread|primary, strict-locks, log-file=PATH, log-level=L,
//      foreground, ro, and the generic mount options (rw, nosuid, nodev, noexec, noatime,
//      allow_other, ...). Options that only
//      mean something to mount(8) or to boot ordering (defaults, _netdev, auto, noauto, user,
//      nofail, x-systemd.*) are accepted and ignored.
#pragma once

#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"

namespace shoal::fuse {

struct MountOptions {
  std::vector<HostPort> servers;  // the server in SPEC, then the backup servers
  std::string volume;
  std::string mountpoint;
  bool foreground = false;
  // How long the kernel may cache attributes, names and "no such name" while the server
  // invalidates what other clients change (docs/design.md, "Caching with invalidation"); at most
  // 1 s when it cannot (an older server or kernel, a lapsed lease).
  double attr_timeout_s = 60.0;
  double entry_timeout_s = 60.0;
  double negative_timeout_s = 60.0;
  int connect_timeout_ms = 3000;
  int give_up_ms = 5000;
  // A replicated volume: file data is read from every in-sync brick (spread), or only from the
  // primary's (reads=primary).
  bool spread_reads = true;
  // Every close(2), read-only ones too, reaches the client, so that it drops the closing
  // process's POSIX locks on the file however they were taken, as POSIX says. Off: a read-only
  // descriptor opened while the file had no lock through this mount closes without a request
  // (adapter_files.cc, Open).
  bool strict_locks = false;
  std::string log_file;
  std::string log_level = "info";
  std::vector<std::string> fuse_options;  // passed to the kernel mount: ro, nosuid, allow_other...
};

// Parses SPEC and the comma-separated -o list (which may be empty).
Result<MountOptions> ParseMountOptions(const std::string& spec, const std::string& mountpoint,
                                       const std::vector<std::string>& option_lists);

}  // namespace shoal::fuse
