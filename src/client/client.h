// Client: a mounted volume's connection to its server, with no FUSE in it (the FUSE adapter and
// tests both sit on top of it).
//
// Requests are protobuf messages; replies come back through a callback, on the transport's
// thread, with the server's error status already turned into a Result error. The client decides
// which requests are safe to resend after a reconnect (RetrySafe) and keeps open files usable
// across server restarts: a file opened on an earlier connection is reopened by node id, without
// O_CREAT/O_EXCL/O_TRUNC, the first time it is used again.
//
// Thread-safe. Callbacks must be quick and must not wait for another reply.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "client/read_spread.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"

namespace shoal::client {

using NodeId = uint64_t;
using Reply = net::Reply;
using Callback = std::function<void(Result<Reply>)>;

struct ClientOptions {
  std::vector<HostPort> servers;  // the first one, then the backups
  std::string volume;
  std::string client_name;        // for the server's logs
  int connect_timeout_ms = 3000;
  int give_up_ms = 5000;          // how long an operation waits for a lost server
  // A replicated volume: the servers are its bricks' and the client follows the primary role
  // among them, noticing a silent primary within ~1 s (DESIGN.md §5, failover within 2 s).
  bool replicated = false;
  // A replicated volume: file data is read from the brick its node hashes to (ReadSpread), not
  // all from the primary.
  bool spread_reads = true;
};

// An open file or directory as the client knows it.
struct OpenFile {
  NodeId node = 0;
  uint32_t flags = 0;  // as opened, for a reopen
  bool directory = false;

  std::mutex mutex;
  uint64_t server_handle = 0;  // guarded by mutex
  uint64_t generation = 0;     // guarded by mutex: the connection server_handle belongs to
  // A reopen on its way, and what waits for it: requests caught by a reconnect all wait for one
  // reopen instead of each opening the file again (guarded by mutex).
  bool reopening = false;
  std::vector<std::function<void(Status)>> reopen_waiters;
  // A write answered before the server had it (WriteBehind) that then failed: returned by the
  // next write or fsync on this file, which clear it, and by every flush before them (guarded by
  // mutex). write_error_told: a flush returned it.
  Status write_error;
  bool write_error_told = false;
  // The lock requests granted through this file, in order: taken again on the new primary after
  // a failover (replicated volumes; guarded by mutex).
  std::vector<proto::SetLockRequest> locks;
  // The owners that took POSIX locks through this file and have not closed it since (guarded by
  // mutex). A close(2) the kernel does not tell (a read-only open without flush) leaves them
  // here, and Release drops their locks.
  std::set<uint64_t> lock_owners;
};

// Whether `request` may be sent again after a lost connection without changing its effect.
bool RetrySafe(const proto::Request& request);

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  const proto::Attr& root() const { return transport_->hello().root(); }
  uint32_t max_io_bytes() const { return transport_->hello().max_io_bytes(); }
  // The connection itself: pushes, acknowledgements and its state (the FUSE adapter's notifier).
  net::ClientTransport& transport() { return *transport_; }

  void Call(proto::Request request, net::Bulk trailer, Callback done);
  Result<Reply> CallSync(proto::Request request, net::Bulk trailer = nullptr);

  // Makes an OpenFile from a successful open/create/opendir reply.
  std::shared_ptr<OpenFile> Adopt(NodeId node, uint32_t flags, bool directory, uint64_t server_handle);
  // An OpenFile not yet opened on the server: the first request on it opens it (by node id).
  std::shared_ptr<OpenFile> AdoptUnopened(NodeId node, uint32_t flags, bool directory);
  // Opens `file` on the server now if it is not open there (waits; not from a callback).
  Status Materialize(std::shared_ptr<OpenFile> file);
  // Sends the request that `build` makes for the file's current server handle, reopening the
  // file first if the connection it was opened on is gone.
  void CallOnFile(std::shared_ptr<OpenFile> file, std::function<proto::Request(uint64_t handle)> build,
                  net::Bulk trailer, Callback done);
  // Lets go of the file on the server (nothing to do if its connection is gone), first dropping
  // the POSIX locks taken through it that no close(2) dropped.
  void Release(std::shared_ptr<OpenFile> file);
  // A release the kernel sent is on its way (ReleaseComing, from its arrival until Release has
  // sent it): a lock refused now may be held by that file, and is worth asking for again once
  // none is (ReleasesUnsent). Release itself may wait first for writes and lock drops.
  void ReleaseComing() { ++releases_unsent_; }
  int ReleasesUnsent() const { return releases_unsent_.load(); }
  // Reads `size` bytes of `file` at `offset`: from the brick ReadSpread picks, or through the
  // primary's connection when that brick cannot serve it.
  void Read(std::shared_ptr<OpenFile> file, uint64_t offset, uint32_t size, Callback done);

  // Locks on a replicated volume live on the primary. The client keeps what it was granted
  // (NoteLock) and what close(2) dropped (ForgetLocks), and takes its locks again, marked
  // `reclaim`, as soon as it is connected to a new primary, which grants nothing else for its
  // first seconds (ReplicaRole::MayGrantLock); on a one-brick volume only the owners are kept,
  // for Release.
  void NoteLock(const std::shared_ptr<OpenFile>& file, const proto::SetLockRequest& granted);
  // close(2) by `owner`: its POSIX locks on `node` are gone, whichever open file took them.
  void ForgetLocks(NodeId node, uint64_t owner);

 private:
  std::atomic<int> releases_unsent_{0};
  Client(std::unique_ptr<net::ClientTransport> transport, bool replicated)
      : transport_(std::move(transport)), replicated_(replicated) {}
  void Reopen(std::shared_ptr<OpenFile> file, std::function<void(Status)> done);
  // Takes every noted lock again (on the transport's thread, after a reconnect).
  void ReclaimLocks();

  // Before transport_: its thread may run ReclaimLocks until it is gone.
  std::mutex locked_mutex_;
  std::vector<std::weak_ptr<OpenFile>> locked_;  // guarded by locked_mutex_: files with locks
  std::unique_ptr<net::ClientTransport> transport_;
  // After transport_: a read it fails falls back to transport_. Null unless reads are spread.
  std::unique_ptr<ReadSpread> spread_;
  // Every request may be resent: the bricks of a replicated volume remember the answers to the
  // changes they applied by (client id, request id), so a resent change takes effect once.
  const bool replicated_;
};

}  // namespace shoal::client
