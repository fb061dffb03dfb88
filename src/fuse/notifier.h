// Notifier: carries out the server's invalidation pushes on the kernel's caches, and holds the
// mount's lease on them (DESIGN.md §5; docs/design.md "Caching with invalidation").
//
// Its own thread makes every kernel notification, never a FUSE callback and never under a lock a
// request needs: a notification can wait for locks that a request in flight holds, and that
// request may be waiting for the server, which may be waiting for this very acknowledgement. The
// notifications chosen take no such lock: names are only expired (FUSE_EXPIRE_ONLY, no directory
// lock; the next use looks them up again), a node's attributes are invalidated without its pages
// (no page lock; the kernel drops stale pages itself when it sees the new mtime or size), a
// directory's listing with its pages (locked only while being filled, never across a request).
// Then the push is acknowledged. An expired name is expired once more kReexpireMs later: a lookup
// answered just before the change, whose answer the kernel had received but not yet applied when
// the name was expired, would otherwise set its old timeout again (the kernel keeps no version
// for names, as it does for attributes).
//
// The lease. The kernel may keep things for the long configured times only while the cache is
// trusted: the server pushes (its hello says so), the kernel can expire names, and the server was
// heard from within the lease (the server's acknowledgement timeout) on the connection trust was
// established on. Otherwise answers get at most kUntrustedCacheS. When trust lapses — silence, a
// lost or replaced connection — everything handed out with long times (KernelGrants) is dropped
// before trust is regained, so a cache that nobody can invalidate outlives the lease by at most
// the time this thread takes to notice (kLeaseCheckMs) and drop it.
//
// Thread-safe. TimesFor and Note* are quick and may be called from any thread.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "client/client.h"
#include "fuse/directory_attrs.h"
#include "fuse/directory_names.h"
#include "fuse/kernel_grants.h"
#include "fuse/mount_options.h"
#include "fuse/version_table.h"
#include "fuse/xattr_cache.h"

namespace shoal::fuse {

// How long the kernel may keep what one answer says.
struct CacheTimes {
  double attr_s = 0;
  double entry_s = 0;
  double negative_s = 0;
};

// The kernel's caches, as the notifier drops things from them (fuse_lowlevel_notify_*).
class KernelCache {
 public:
  virtual ~KernelCache() = default;
  // Attributes only, or (`pages`) also the cached data / directory listing.
  virtual void InvalidateNode(uint64_t ino, bool pages) = 0;
  virtual void ExpireEntry(uint64_t parent, std::string_view name) = 0;
};

// The FUSE session's kernel caches.
std::unique_ptr<KernelCache> FuseKernelCache(fuse_session* session);

class Notifier {
 public:
  static constexpr double kUntrustedCacheS = 1.0;  // the cache times before invalidation existed
  static constexpr int kLeaseCheckMs = 50;
  static constexpr int kReexpireMs = 20;
  static constexpr size_t kGrantedEntriesMax = 1 << 16;
  static constexpr size_t kGrantedNodesMax = 1 << 16;

  // Takes over the client's pushes (acknowledged at once until Start).
  Notifier(client::Client& client, const MountOptions& options, XattrCache& xattrs, VersionTable& versions,
           DirectoryAttrs& directory_attrs, DirectoryNames& directory_names);
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // From FUSE init: whether the kernel can expire a name without locking its directory. Without
  // it nothing is cached for long (an invalidation could deadlock against a request in flight).
  void SetExpireSupported(bool supported) { expire_supported_ = supported; }
  // Starts carrying out pushes on `kernel` (once the mount exists).
  void Start(std::unique_ptr<KernelCache> kernel);
  // Stops the thread (before the mount goes); pushes are acknowledged at once from then on.
  void Stop();

  // The cache times for an answer; `uncacheable`: the server refused to track it, or it raced a
  // push (Reply::raced_push).
  CacheTimes TimesFor(bool uncacheable) const;
  // Records what the kernel was just given with long times (TimesFor said so).
  void NoteEntry(uint64_t parent, std::string_view name);
  void NoteNode(uint64_t ino, bool directory);
  bool Trusted() const;

 private:
  struct Work {
    uint64_t generation = 0;
    uint64_t push_id = 0;  // 0: an eviction, nothing to acknowledge
    proto::InvalidatePush invalidate;
  };
  // Shared with the push handler, which may outlive the notifier by a little (it is removed
  // asynchronously): once closed, pushes are acknowledged at once.
  struct Inbox {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Work> queue;  // guarded by mutex
    bool open = false;       // guarded by mutex: the thread runs
  };

  struct Reexpire {
    std::chrono::steady_clock::time_point due;
    uint64_t parent;
    std::string name;
  };

  void Run();
  void ReexpireDue();
  void CarryOut(const Work& work);
  void DropAll(const char* why);
  void CheckLease();

  net::ClientTransport& transport_;
  const MountOptions& options_;
  XattrCache& xattrs_;
  VersionTable& versions_;
  DirectoryAttrs& directory_attrs_;
  DirectoryNames& directory_names_;
  const int lease_ms_;  // 0: the server does not push
  std::atomic<bool> expire_supported_{false};
  KernelGrants grants_{kGrantedEntriesMax, kGrantedNodesMax};
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  std::unique_ptr<KernelCache> kernel_;  // the thread's
  std::deque<Reexpire> reexpire_;        // the thread's: names to expire once more, oldest first
  std::atomic<bool> trusted_{false};
  std::atomic<uint64_t> trusted_generation_{0};
  std::thread thread_;
};

}  // namespace shoal::fuse
