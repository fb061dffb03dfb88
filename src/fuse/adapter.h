// The FUSE adapter: libfuse's low-level operations, each turned into one request to the server.
//
// Rules (after libfuse's passthrough_ll): every callback replies exactly once, from the reply
// site of its completion (usually on the transport's thread, since fuse_reply_* is thread-safe);
// errno appears only here, through ErrnoFromCode; state reaches callbacks through the session's
// userdata, never through globals. Node ids are the kernel's inode numbers as they are, so the
// adapter keeps no inode table: lookup counts and forget need no bookkeeping, and memory does not
// grow with the number of files the kernel has seen.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "client/client.h"
#include "client/write_behind.h"
#include "fuse/directory_attrs.h"
#include "fuse/directory_names.h"
#include "fuse/mount_options.h"
#include "fuse/notifier.h"
#include "fuse/version_table.h"
#include "fuse/xattr_cache.h"

namespace shoal::fuse {

// Everything the callbacks share; the session's userdata.
struct Adapter {
  client::Client& client;
  const MountOptions& options;

  // Writes answered before the server has them, and the barriers that wait for them (see
  // client/write_behind.h); declared after `client`, which it sends through.
  client::WriteBehind write_behind{client::SendThrough(client)};

  VersionTable versions;
  XattrCache xattrs{options.attr_timeout_s};
  // Carries out the server's invalidations and keeps the lease on the kernel's caches.
  // A directory's attributes after this mount's last change of its names, for the next getattr.
  DirectoryAttrs directory_attrs;
  // Every name in the directories this mount made, while nobody else changes them.
  DirectoryNames directory_names;
  Notifier notifier{client, options, xattrs, versions, directory_attrs, directory_names};

  // Read-only opens are answered without asking the server (the pages are usually cached); the
  // server sees the file only when a read reaches it. Before this mount removes or replaces a
  // name, those opens are made real, so the files stay readable after their last name is gone.
  std::mutex lazy_mutex;
  std::vector<std::weak_ptr<client::OpenFile>> lazy;  // guarded by lazy_mutex

  // Files on which a POSIX lock was ever taken through this mount: only their close (flush) has
  // to reach the server, to drop the closing owner's locks.
  std::mutex locked_mutex;
  std::unordered_set<client::NodeId> locked;  // guarded by locked_mutex
};

// The table of operations to give fuse_session_new.
const fuse_lowlevel_ops& Operations();

}  // namespace shoal::fuse
