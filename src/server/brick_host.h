// BrickHost: serves this server's bricks of the pool's started volumes, as their records in etcd
// say. It reads the records at start, whenever another server says a record changed
// (BrickRefresh, sent by the server that changed it), and every `poll_ms` in case such a word
// was lost. Without an answer from etcd it keeps serving what it serves: a pool that lost its
// quorum still serves its clients.
//
// Thread-safe: Refresh may be called from any thread; refreshes run one at a time.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "coord/etcd_client.h"
#include "server/volume_registry.h"

namespace shoal::server {

struct BrickHostOptions {
  std::string server_name;  // this server's name in the pool, host:port
  int poll_ms = 3000;
  bool witness = false;  // shoald --witness: serves no bricks
};

class BrickHost {
 public:
  // `etcd` gives the pool's current etcd client (it changes when the server joins a pool).
  BrickHost(BrickHostOptions options, VolumeRegistry& volumes, std::function<std::shared_ptr<coord::EtcdClient>()> etcd);
  ~BrickHost();  // stops the polling thread; the bricks stay served until the registry goes
  BrickHost(const BrickHost&) = delete;
  BrickHost& operator=(const BrickHost&) = delete;

  // Reads the records and serves or stops serving bricks to match. Fails if etcd does not answer.
  Status Refresh();

 private:
  const BrickHostOptions options_;
  VolumeRegistry& volumes_;
  const std::function<std::shared_ptr<coord::EtcdClient>()> etcd_;
  std::mutex refresh_mutex_;  // one refresh at a time

  std::mutex stop_mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread poller_;
};

}  // namespace shoal::server
