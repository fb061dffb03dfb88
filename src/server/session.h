// Session: the server's side of one client connection.
//
// It holds what the client has open on the brick (file and directory handles, lock descriptors),
// and everything it holds goes when the connection goes: descriptors close, locks drop. Requests
// are decoded on the io thread; quick requests (metadata, small writes) run there too, and
// everything that may wait for the disk runs on the worker pool (Session::Quick), so replies leave
// in whatever order the work finishes.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "net/connection.h"
#include "net/worker_pool.h"
#include "proto/messages.h"
#include "server/admin.h"
#include "server/cache_tracker.h"
#include "server/volume_registry.h"
#include "storage/directory_reader.h"

namespace shoal::server {

// Whether `request` changes the volume: refused on a read-only volume, forwarded by a primary.
bool Changes(const proto::Request& request);
// Whether `request` is metadata work quick enough to run on the io thread (it touches only the
// page cache in the common case). Session::Quick adds small writes.
bool RunsInline(const proto::Request& request);

class Session : public net::FrameSink, public std::enable_shared_from_this<Session> {
 public:
  // `admin` serves the admin requests of connections whose hello names no volume; null: none yet
  // (the server is still starting).
  // `cache` tracks what clients cache (null: nothing is tracked, no pushes).
  Session(std::shared_ptr<net::Connection> connection, VolumeRegistry& volumes, net::WorkerPool& workers,
          AdminServices* admin = nullptr, CacheTracker* cache = nullptr);

  void OnFrame(net::Frame frame) override;
  void OnClose(const std::string& reason) override;

 private:
  // One open file or directory of this client on the brick.
  struct OpenHandle {
    storage::NodeId node = 0;
    std::shared_ptr<storage::NodeFd> pin;               // keeps the node reachable by id while open
    UniqueFd fd;                                        // files
    std::unique_ptr<storage::DirectoryReader> directory;  // directories
    bool replicated = false;  // opened on the backups too (the primary's writable files)
    bool synchronous = false;  // opened O_SYNC or O_DSYNC: each write waits for the disk
  };
  struct Answer {
    proto::Response response;
    std::string trailer;
  };

  void Reply(uint64_t request_id, Answer answer);
  // Caching with invalidation (session_cache.cc): Serve handles a request and replies. What it
  // notes before handling the request (BeginServe) and does with the answer (EndServe: grants,
  // invalidations of other clients' caches, the reply) may be apart, the answer coming later.
  struct ServeContext {
    CacheTracker::SessionId session = 0;  // 0: the client caches nothing
    uint64_t since = 0;
    storage::NodeId handle_node = 0;
    std::vector<CacheItem> replaced;
  };
  void Serve(uint64_t id, const proto::Request& request, const net::Bulk& trailer);
  ServeContext BeginServe(const proto::Request& request);
  void EndServe(uint64_t id, const proto::Request& request, const ServeContext& context, Answer answer);
  void JoinCacheTracking(const proto::HelloRequest& hello, proto::HelloResponse& response);
  void LeaveCacheTracking();
  void OnPushAck(const net::Frame& frame);
  // `request_id`: the frame's, which a client keeps when it resends (exactly-once replication).
  Answer Handle(const proto::Request& request, const net::Bulk& trailer, uint64_t request_id = 0);
  // Serves the request on this brick alone.
  Answer HandleLocal(const proto::Request& request, const net::Bulk& trailer);
  Answer HandleHello(const proto::HelloRequest& hello);
  Answer HandleNamespace(const proto::Request& request);
  Answer HandleFile(const proto::Request& request, const net::Bulk& trailer);
  Answer HandleLock(const proto::Request& request);
  Answer HandleAdmin(const proto::Request& request);
  // Whether `request` runs on the io thread: RunsInline, or a write of a few pages to a file not
  // opened for synchronous writes (it only copies into the page cache).
  bool Quick(const proto::Request& request, const net::Bulk& trailer);

  // Replication (session_replication.cc). Whether the primary forwards `request` to the backups.
  bool Forwards(const proto::Request& request);
  // The primary: applies a change here, forwards it, answers once the backups applied it.
  Answer HandleReplicated(const proto::Request& request, const net::Bulk& trailer, uint64_t request_id);
  // The same for a quick change (Quick), on the io thread, without waiting: the answer goes
  // out from the thread that gets the last backup's. False if it would have to wait for the
  // volume's order or the lease (nothing done then: the caller hands it to the pool).
  bool ServeChangeInline(uint64_t id, const proto::Request& request, const net::Bulk& trailer);
  struct Applied {
    Answer answer;           // this brick's
    bool forwarded = false;  // sent to the backups (it succeeded here)
    uint64_t handle = 0;     // the handle it opened, if any
  };
  Applied ApplyAndForward(ReplicaRole::Change& change, const proto::Request& request, const net::Bulk& trailer,
                          uint64_t request_id);
  // The answer to a forwarded change, once `replicated` says how it went on the backups.
  Answer Settle(Status replicated, Applied applied, const proto::Request& request, uint64_t request_id);
  // A change applied before, sent again: its first answer, with the file opened again for this
  // connection if it opened one.
  Answer Repeated(const proto::Request& request, proto::Response first);
  // A backup: applies a change its primary forwarded.
  Answer ApplyReplicated(const proto::ReplicateRequest& forward, const net::Bulk& trailer);
  // A backup: closes the handles its primary closed (ReplicateRequest.released).
  void CloseReleased(const google::protobuf::RepeatedField<uint64_t>& released);
  // A brick outside the in-sync set: what its primary's heal asks (server/tree_sync.h).
  Answer HandleHeal(const proto::Request& request, const net::Bulk& trailer);
  // A backup serves its primary's requests one at a time, in the order sent.
  void ServeInOrder(uint64_t id, proto::Request request, net::Bulk trailer);
  // A read connection (ROLE_READ): a file's data by node id, from any in-sync brick holding a read
  // lease (reads spread over the bricks).
  Answer HandleSpreadRead(const proto::Request& request);

  uint64_t AddHandle(std::shared_ptr<OpenHandle> handle);
  std::shared_ptr<OpenHandle> FindHandle(uint64_t id);
  bool DropHandle(uint64_t id);
  // The descriptor through which `owner` holds POSIX locks on the handle's node.
  Result<int> LockDescriptor(const OpenHandle& handle, uint64_t owner);

  const std::shared_ptr<net::Connection> connection_;
  VolumeRegistry& volumes_;
  net::WorkerPool& workers_;
  AdminServices* const admin_services_;
  CacheTracker* const cache_;
  std::atomic<CacheTracker::SessionId> cache_session_{0};  // set by a volume hello
  // The volume, set once by hello (under mutex_) before brick_ publishes its brick.
  std::shared_ptr<ServedVolume> volume_;
  std::atomic<storage::Brick*> brick_{nullptr};  // set once by hello
  std::atomic<bool> admin_{false};              // set once by a hello without a volume
  // Requests handed to the pool (or waiting for the backups: ServeChangeInline) and not yet
  // answered, and the data they carry: a client that sends without waiting for answers is cut
  // off before it can exhaust the server's memory.
  static constexpr uint64_t kQueuedRequestsMax = 4096;
  static constexpr uint64_t kQueuedBytesMax = 256u << 20;
  std::atomic<uint64_t> queued_requests_{0};
  std::atomic<uint64_t> queued_bytes_{0};
  std::string volume_name_;
  // Replicated volumes (set once by hello, before brick_): the brick's role, what this connection
  // is for, and for a primary's connection the epoch it came with.
  std::shared_ptr<ReplicaRole> role_;
  proto::HelloRole hello_role_ = proto::ROLE_PRIMARY;
  uint64_t replication_epoch_ = 0;
  std::string client_id_;  // from hello
  storage::NodeId assign_id_ = 0;  // a backup applying a create: the id the primary gave it
  struct InOrder {
    uint64_t id = 0;
    proto::Request request;
    net::Bulk trailer;
  };
  std::mutex in_order_mutex_;
  std::deque<InOrder> in_order_;   // guarded by in_order_mutex_
  bool in_order_running_ = false;  // guarded by in_order_mutex_

  std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<OpenHandle>> handles_;  // guarded by mutex_
  // One descriptor per (lock owner, node) holding that owner's POSIX locks, and who the owner
  // is: the pid and the span of what it has locked, so that getlk can name the holder.
  struct LockOwner {
    UniqueFd fd;
    uint32_t pid = 0;
    uint64_t start = UINT64_MAX, end = 0;  // [start, end) covering every range it locked
  };
  std::map<std::pair<uint64_t, storage::NodeId>, LockOwner> lock_owners_;  // guarded by mutex_
  // A read connection's descriptors of the files it read lately, by node (guarded by mutex_).
  std::unordered_map<storage::NodeId, std::shared_ptr<UniqueFd>> spread_files_;
  // The pid of an owner of this session holding a lock on `node` that overlaps `lock`, or 0.
  uint32_t HolderPid(storage::NodeId node, uint64_t asking_owner, const proto::Lock& lock);
};

}  // namespace shoal::server
