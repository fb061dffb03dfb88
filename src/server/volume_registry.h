// VolumeRegistry: the volumes this server serves, by name, each with its brick or the reason it
// cannot be served.
//
// Two kinds of volume: static ones, declared by `shoald --volume NAME=PATH` and served for the
// server's life, and the pool's, served while their record in etcd says "started" (BrickHost
// calls Serve and Unserve as the records change). A stopped volume's clients are disconnected.
//
// A brick directory is opened at most once in the process (LMDB allows one environment per file
// per process): a volume started again while sessions of its old run are still finishing gets
// the same Brick.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/volume_options.h"
#include "net/connection.h"
#include "server/replica_role.h"
#include "storage/brick.h"

namespace shoal::server {

// One served volume as a session sees it: the brick, and what the volume's options say about
// clients. Options change while it is served; the brick does not.
class ServedVolume {
 public:
  ServedVolume(std::string name, std::shared_ptr<storage::Brick> brick, bool replicated = false)
      : name_(std::move(name)), brick_(std::move(brick)), replicated_(replicated) {}

  const std::string& name() const { return name_; }
  // One brick of a replicated volume: clients are served only once its role is set.
  bool replicated() const { return replicated_; }
  storage::Brick& brick() const { return *brick_; }

  // From the volume's options (volume_options.h).
  void ApplyOptions(const std::map<std::string, std::string>& options);
  bool read_only() const;
  // Whether a client at `address` (an IP address as text) may use the volume; if not, why.
  Status Admit(const std::string& address) const;

  // Registers a client's connection, to be closed when the volume stops (or the brick leaves the
  // in-sync set). False if it has stopped. `reads_only`: a mount's read connection (reads spread
  // over the bricks), not counted as a client of its own.
  bool AddClient(const std::shared_ptr<net::Connection>& connection, bool reads_only = false);
  uint32_t clients() const;
  // File reads answered from the brick (volume status shows how reads spread over the bricks).
  void CountRead() { reads_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }
  // Closes every client's connection and refuses new ones; a replicated brick leaves its role.
  void Stop(const std::string& reason);
  // Closes every client's connection (they reconnect, maybe to another brick).
  void DisconnectClients(const std::string& reason);

  // A replicated volume's brick: its role in the replica set (null: one brick, nothing to
  // replicate). Set once, by BrickHost, right after the volume is first served.
  void SetRole(std::shared_ptr<ReplicaRole> role);
  std::shared_ptr<ReplicaRole> role() const;

 private:
  const std::string name_;
  const std::shared_ptr<storage::Brick> brick_;
  const bool replicated_;
  mutable std::mutex mutex_;
  bool read_only_ = false;                               // guarded by mutex_
  AddressPatterns allow_, reject_;                       // guarded by mutex_
  bool stopped_ = false;                                 // guarded by mutex_
  std::vector<std::weak_ptr<net::Connection>> clients_;  // guarded by mutex_
  std::vector<std::weak_ptr<net::Connection>> readers_;  // guarded by mutex_
  std::shared_ptr<ReplicaRole> role_;                    // guarded by mutex_
  std::atomic<uint64_t> reads_{0};
};

class VolumeRegistry {
 public:
  // Opens the brick of static volume `name`; a brick that cannot be opened is remembered with its
  // reason and refused to clients, while the other volumes are served.
  Status AddStatic(const std::string& name, const std::string& brick_path);
  // Serves `brick_path` as the pool's volume `name` with `options`, or updates the options of the
  // volume if it is served already. A brick that cannot be opened is remembered with its reason.
  Status Serve(const std::string& name, const std::string& brick_path, const std::map<std::string, std::string>& options,
               bool replicated = false);
  // Stops serving the pool's volume `name` (static volumes stay); its clients are disconnected.
  void Unserve(const std::string& name, const std::string& reason);

  // The served volume, or why there is none.
  Result<std::shared_ptr<ServedVolume>> Find(const std::string& name) const;
  // The names of the pool's volumes served now (not the static ones), and of the static ones.
  std::vector<std::string> PoolVolumes() const;
  std::vector<std::string> StaticVolumes() const;
  // Where volume `name`'s brick is, if this server has (or tried to serve) one.
  std::string BrickPath(const std::string& name) const;
  // Writes every brick's index to stable storage.
  void SyncAll();
  // A planned stop: every replicated brick leaves its role (a primary hands it over).
  void StopRoles();

 private:
  struct Volume {
    bool is_static = false;
    std::string path;
    std::shared_ptr<ServedVolume> served;  // null: not servable, see `unavailable`
    Status unavailable;
  };
  Status Open(const std::string& name, const std::string& brick_path, bool is_static,
              const std::map<std::string, std::string>& options, bool replicated = false);

  mutable std::mutex mutex_;
  std::map<std::string, Volume> volumes_;                              // guarded by mutex_
  std::map<std::string, std::weak_ptr<storage::Brick>> open_bricks_;  // by path; guarded by mutex_
};

}  // namespace shoal::server
