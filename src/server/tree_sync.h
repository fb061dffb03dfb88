// TreeSync: the mechanism of a heal (DESIGN.md §5 "Heal"): makes a brick's tree, reached over a
// ROLE_HEAL connection, the same as the primary's own brick, node id by node id. Nothing is
// merged: whatever differs is made as the primary has it, and whatever the primary lacks goes.
//
// A pass over everything walks the primary's tree from the root and compares every directory
// with the other brick's. A pass over dirty nodes (changed since the last pass, or missed by the
// brick: MissedRecord) compares only the directories that are or hold one, found by node id
// without a walk; a directory it makes there (new, or moved in) is compared all the way down.
// Objects are matched by name, then by node id and type: a different node under the same
// name is replaced. Regular files whose size or mtime differ (or all, in a `full` pass) are
// compared block by block (xxh3 of 256 KiB blocks) and only the blocks that differ are sent;
// small files are sent whole. Times are set last, a directory's after its entries. Changes are
// pipelined: up to 64 requests (16 MiB) are in flight, and the brick applies each connection's
// in order. File data goes over several connections (lanes), which the brick serves in parallel.
//
// The caller decides when a pass runs and under which lock (ReplicaRole: passes while clients
// write, then a last one over what changed meanwhile with the volume's changes held).
// Thread-compatible: one pass at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "net/client_transport.h"
#include "proto/shoal.pb.h"
#include "storage/brick.h"

namespace shoal::server {

// What the brick holds below its root (a quick local walk: the totals a heal's first pass works
// through, for its progress).
struct TreeSize {
  uint64_t entries = 0;
  uint64_t file_bytes = 0;  // sizes of its regular files
};
TreeSize CountEntries(storage::Brick& brick);
// The same for the nodes `nodes` that the brick holds (what a brick missed: MissedRecord).
TreeSize SizeOf(storage::Brick& brick, const std::unordered_set<uint64_t>& nodes);

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
    std::atomic<uint64_t> file_bytes = 0;   // sizes of the regular files among `entries`

    // Grows while a pass makes progress.
    uint64_t Sum() const { return directories + entries + copied + removed + bytes + compared + file_bytes; }
  };

  // `lanes`: connections to the brick (at least one). The first carries the namespace; file
  // data is spread over the others, which the brick serves in parallel.
  // `stop`: set by another thread to end a pass early (kInterrupted).
  TreeSync(storage::Brick& local, std::vector<net::ClientTransport*> lanes, const std::atomic<bool>& stop)
      : local_(local), lanes_(std::move(lanes)), stop_(stop), lane_in_flight_(lanes_.size(), 0) {}
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
  // Syncs directory `dir` and everything below it; `fresh`: it is new there, so empty.
  Status Walk(uint64_t dir, bool fresh);
  // A pass over the dirty nodes: compares the directories that are or hold one, and nothing else
  // (no walk of the tree).
  Status CompareDirty();
  // Makes directory `dir` there as `mine` lists it here (and `theirs` there), its own times last.
  Status Compare(uint64_t dir, const proto::HealListResponse& mine, bool fresh);
  Status Compare(uint64_t dir, const proto::HealListResponse& mine, const proto::HealListResponse& theirs,
                 bool fresh);
  // A file of a directory whose data is to be sent, and what the brick had (if `compared`).
  struct Content {
    proto::HealEntry mine;
    proto::HealEntry theirs;
    bool compared = false;
  };
  // Makes `entry` in `dir` there as it is here (replacing whatever holds the name); a regular
  // file's data is added to `contents`.
  Status Copy(uint64_t dir, const proto::HealEntry& mine, const proto::HealEntry* theirs,
              std::vector<Content>& contents);
  // Sends the data and then the times of `contents` (files of `dir`), spread over the lanes.
  Status SendContents(uint64_t dir, const std::vector<Content>& contents);
  Status SendContent(const proto::HealEntry& mine, const proto::HealEntry* theirs, size_t lane);
  Status SetTimes(uint64_t dir, const proto::HealEntry& mine, size_t lane = 0);
  Result<proto::HealListResponse> ListThere(uint64_t dir);
  // Sends `request` (with `data`) and returns the answer, or the failure as a Status (or the
  // failure of a request sent before).
  Result<proto::Response> Call(proto::Request request, std::string data = {}, size_t lane = 0);
  // Sends a change without waiting for its answer: the brick applies a connection's requests in
  // the order sent, so whatever is sent (or called) later sees its effect. A bounded number are
  // in flight; the first failure stops the pass (Drain, or the next Send or Call, returns it).
  Status Send(proto::Request request, std::string data = {}, size_t lane = 0);
  // Waits for the answers to everything sent (on `lane` only, if given).
  Status Drain(std::optional<size_t> lane = std::nullopt);
  // Waits as long as the bandwidth limit asks after `bytes` more were sent.
  void Throttle(uint64_t bytes);
  bool Dirty(uint64_t node) const { return dirty_ == nullptr || dirty_->contains(node); }

  storage::Brick& local_;
  const std::vector<net::ClientTransport*> lanes_;
  const std::atomic<bool>& stop_;
  const std::unordered_set<uint64_t>* dirty_ = nullptr;
  std::unordered_set<uint64_t> compared_;  // the directories this pass compared
  bool full_ = false;
  Counters counters_;
  std::mutex mutex_;
  std::condition_variable answered_;
  size_t in_flight_ = 0;          // guarded by mutex_
  std::vector<size_t> lane_in_flight_;  // guarded by mutex_: in_flight_ by lane
  uint64_t in_flight_bytes_ = 0;  // guarded by mutex_
  Status failed_;                 // guarded by mutex_: the first request that failed
  uint64_t rate_ = 0;
  std::chrono::steady_clock::time_point rate_start_{};
  uint64_t rate_bytes_ = 0;
};

}  // namespace shoal::server
