// TreeSync: the mechanism of a heal (DESIGN.md §5 "Heal"): makes a brick's tree, reached over a
// ROLE_HEAL connection, the same as the primary's own brick, node id by node id. Nothing is
// merged: whatever differs is made as the primary has it, and whatever the primary lacks goes.
//
// A pass walks the primary's tree from the root. It compares a directory with the other brick's
// when asked to compare everything, or when the directory or one of its entries is dirty (changed
// since the last pass); every subdirectory is walked either way, since a dirty node may be deep
// down. Objects are matched by name, then by node id and type: a different node under the same
// name is replaced. Regular files whose size or mtime differ (or all, in a `full` pass) are
// compared block by block (xxh3 of 256 KiB blocks) and only the blocks that differ are sent;
// small files are sent whole. Times are set last, a directory's after its entries. Changes are
// pipelined: up to 64 requests (16 MiB) are in flight, and the brick applies them in order.
//
// The caller decides when a pass runs and under which lock (ReplicaRole: passes while clients
// write, then a last one over what changed meanwhile with the volume's changes held).
// Thread-compatible: one pass at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "common/status.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"
#include "storage/brick.h"

namespace shoal::server {

// How many objects the brick holds below its root (a quick local walk: the total a heal's first
// pass works through, for its progress).
uint64_t CountEntries(storage::Brick& brick);

class TreeSync {
 public:
  // Counted over every pass; read by other threads while a pass runs (progress).
  struct Counters {
    std::atomic<uint64_t> directories = 0;  // compared with the other brick
    std::atomic<uint64_t> entries = 0;      // compared
    std::atomic<uint64_t> copied = 0;       // objects created, replaced or changed there
    std::atomic<uint64_t> removed = 0;      // names removed there
    std::atomic<uint64_t> bytes = 0;        // file data sent
    std::atomic<uint64_t> compared = 0;     // bytes of large files compared by block hashes

    // Grows while a pass makes progress.
    uint64_t Sum() const { return directories + entries + copied + removed + bytes + compared; }
  };

  // `stop`: set by another thread to end a pass early (kInterrupted).
  TreeSync(storage::Brick& local, net::ClientTransport& remote, const std::atomic<bool>& stop)
      : local_(local), remote_(remote), stop_(stop) {}
  ~TreeSync();  // waits for the answers to what was sent
  TreeSync(const TreeSync&) = delete;
  TreeSync& operator=(const TreeSync&) = delete;

  // One pass; `dirty` null: compare everything. `full`: compare the content of every file.
  Status Pass(const std::unordered_set<uint64_t>* dirty, bool full = false);
  const Counters& counters() const { return counters_; }
  // File data sent per second at most, over the passes that follow (0: no limit).
  void set_bytes_per_second(uint64_t rate) {
    rate_ = rate;
    rate_start_ = std::chrono::steady_clock::now();
    rate_bytes_ = 0;
  }

 private:
  // Syncs directory `dir` (whose listing here is `mine`) and everything below it. `fresh`: it is
  // new there, so empty. Sets `changed` when its entries changed there (its times go last).
  Status Walk(uint64_t dir, bool fresh);
  Status Compare(uint64_t dir, const proto::HealListResponse& mine, bool fresh);
  // Makes `entry` in `dir` there as it is here (replacing whatever holds the name), with content.
  Status Copy(uint64_t dir, const proto::HealEntry& mine, const proto::HealEntry* theirs);
  Status SendContent(const proto::HealEntry& mine, const proto::HealEntry* theirs);
  Status SetTimes(uint64_t dir, const proto::HealEntry& mine);
  Result<proto::HealListResponse> ListThere(uint64_t dir);
  // Sends `request` (with `data`) and returns the answer, or the failure as a Status (or the
  // failure of a request sent before).
  Result<proto::Response> Call(proto::Request request, std::string data = {});
  // Sends a change without waiting for its answer: the brick applies a connection's requests in
  // the order sent, so whatever is sent (or called) later sees its effect. A bounded number are
  // in flight; the first failure stops the pass (Drain, or the next Send or Call, returns it).
  Status Send(proto::Request request, std::string data = {});
  Status Drain();
  // Waits as long as the bandwidth limit asks after `bytes` more were sent.
  void Throttle(uint64_t bytes);
  bool Dirty(uint64_t node) const { return dirty_ == nullptr || dirty_->contains(node); }

  storage::Brick& local_;
  net::ClientTransport& remote_;
  const std::atomic<bool>& stop_;
  const std::unordered_set<uint64_t>* dirty_ = nullptr;
  bool full_ = false;
  Counters counters_;
  std::mutex mutex_;
  std::condition_variable answered_;
  size_t in_flight_ = 0;          // guarded by mutex_
  uint64_t in_flight_bytes_ = 0;  // guarded by mutex_
  Status failed_;                 // guarded by mutex_: the first request that failed
  uint64_t rate_ = 0;
  std::chrono::steady_clock::time_point rate_start_{};
  uint64_t rate_bytes_ = 0;
};

}  // namespace shoal::server
