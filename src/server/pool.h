// Pool: this server's place in its pool of servers, kept in etcd (DESIGN.md §3).
//
// A server is named by the address it listens on, host:port. Its record, a PoolServer message
// in protobuf JSON, lives under kServerPrefix + name; the pool is the set of records in the etcd
// cluster the server uses. By default the server runs that cluster's local member itself
// (EtcdMember), so a new server forms a one-server pool of its own. Growing the pool is
// `peer probe`: a server of the pool checks the new one (reachable, speaks shoal, alone in its
// pool), adds its member to the cluster (member/add), and asks it to Join: the new server
// discards its one-server etcd data and restarts its member in the pool's cluster. Shrinking is
// `peer detach`: the member is removed, the record deleted, and the detached server told to
// Leave, which makes it a one-server pool of its own again.
//
// With external etcd endpoints (--etcd-endpoints) the server runs no member; every server given
// the same cluster is in the same pool, and probe and detach of managed members are refused.
//
// Thread-safety: every method may be called from any thread. Changes (Probe, Detach, Join, Leave)
// run one at a time on this server (change_mutex_); List runs alongside them. The member is
// started and stopped only on the pool's own thread, because it dies with the thread that started
// it (etcd_member.h) and request threads come and go.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.h"
#include "common/status.h"
#include "coord/etcd_client.h"
#include "coord/etcd_member.h"
#include "proto/shoal.pb.h"

namespace shoal::server {

inline constexpr const char* kServerPrefix = "/shoal/pool/servers/";

struct PoolOptions {
  HostPort address;                       // where this server listens: its name
  std::string data_dir;                   // the managed member keeps its state in data_dir/etcd
  std::vector<HostPort> etcd_endpoints;   // an external cluster; empty: run a member
  HostPort etcd_client, etcd_peer;        // the managed member's addresses
  int connect_timeout_ms = 3000;          // reaching a probed or detached server
  int status_timeout_ms = 1000;           // reaching a server to say whether it is connected
};

class Pool {
 public:
  explicit Pool(PoolOptions options);
  ~Pool();  // stops the member
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts the managed member (waiting until it serves) and records this server in the pool.
  // Fails only if the member cannot start; a record that cannot be written (no quorum yet while
  // the pool restarts) is logged and written by the next start.
  Status Start();

  const std::string& name() const { return name_; }
  // The client of the pool's etcd cluster (replaced when this server joins or leaves a pool).
  std::shared_ptr<coord::EtcdClient> Etcd();
  // Learns every member's client address (its own member first), so that the server still reaches
  // etcd when its own member is down: a primary must renew its lease through another. Called
  // every few seconds; a managed member only.
  void RefreshEndpoints();
  // The pool's server records, in name order. `serializable`: from the local member's copy, which
  // needs no quorum but may be stale.
  Result<std::vector<proto::PoolServer>> ReadRecords(bool serializable = false);

  // Every server of the pool, each with its state as seen from here (checked now, in parallel).
  Result<proto::PoolListResponse> List();
  // Adds the server at `address` (host[:port]) to the pool; see the top of this file.
  Result<proto::PoolServer> Probe(const std::string& address);
  // Removes server `name` (host[:port]) from the pool. Refused for this server, for a server that
  // holds bricks of a volume, and for a down server unless `force`.
  Status Detach(const std::string& name, bool force);
  // On the probed server: restart the member in the pool's cluster it was added to.
  Result<proto::PoolServer> Join(const proto::PoolJoinRequest& request);
  // On a detached server: become a one-server pool again.
  Status Leave();

 private:
  bool managed() const { return options_.etcd_endpoints.empty(); }
  void SetEtcd(std::vector<HostPort> endpoints);
  // Stops the member, and starts it with `member` options (unless null), on the pool's thread.
  Status RestartMember(std::unique_ptr<coord::MemberOptions> member);
  // Writes this server's record (with its member's id).
  Result<proto::PoolServer> RecordSelf();
  // Discards the member's data and starts a new one-server cluster.
  Status StartAlone();
  Status RunOnPoolThread(std::function<Status()> work);

  const PoolOptions options_;
  const std::string name_;
  std::mutex change_mutex_;  // one change at a time

  std::mutex etcd_mutex_;
  std::shared_ptr<coord::EtcdClient> etcd_;  // guarded by etcd_mutex_; replaced by Join

  std::unique_ptr<coord::EtcdMember> member_;  // pool thread only

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<std::function<void()>> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;                    // guarded by queue_mutex_
  std::thread thread_;
};

}  // namespace shoal::server
