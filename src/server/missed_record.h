// MissedRecord: the primary's record of what each brick that left the in-sync set under it has
// missed since, as the node ids the changes touched (DESIGN.md §5 "Heal": the per-brick record of
// changed node ids). The brick's heal then compares only the directories those nodes are in or
// are, instead of the whole tree: a short absence costs what changed, not what the volume holds.
//
// A brick applies its primary's changes in order, so what it missed is every change from the
// first one it did not confirm. The record keeps the nodes of the last kRecentMax changes to look
// back to that one when the brick leaves, and from then on adds every change's nodes. It knows
// nothing when it does not reach back far enough, when a brick missed more than kNodesMax nodes,
// or after this brick took the primary role (it starts empty): the heal compares everything.
//
// Not thread-safe: ReplicaRole guards it with its mutex, and notes changes in the volume's order.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "proto/shoal.pb.h"

namespace shoal::server {

// Adds the nodes a forwarded change touched to `nodes`: those its request names (node, parent,
// new_parent), the one it created, and those whose times it set (which include a written file's).
void AddTouched(const proto::ReplicateRequest& forward, std::unordered_set<uint64_t>& nodes);

class MissedRecord {
 public:
  static constexpr size_t kRecentMax = 4096;
  static constexpr size_t kNodesMax = 1u << 20;

  // The change numbered `lsn` (numbers grow by one) was forwarded to the in-sync bricks.
  void Note(uint64_t lsn, const proto::ReplicateRequest& forward);
  // Brick `brick`, stored at `where` (server and path), left the in-sync set having applied every
  // change numbered below `first_missed`.
  void Depart(uint32_t brick, const std::string& where, uint64_t first_missed);
  // The nodes brick `brick` missed, if the record holds all of them and it is still at `where`
  // (replace-brick moves it to a new, empty place).
  std::optional<std::unordered_set<uint64_t>> Missed(uint32_t brick, const std::string& where) const;
  // The brick is back in sync, or was replaced: nothing is known of it any more.
  void Forget(uint32_t brick) { missed_.erase(brick); }
  void Clear();

 private:
  std::deque<std::pair<uint64_t, std::vector<uint64_t>>> recent_;  // (lsn, nodes), oldest first
  struct Brick {
    std::string where;
    std::optional<std::unordered_set<uint64_t>> nodes;  // nullopt: not all known
  };
  std::map<uint32_t, Brick> missed_;
};

}  // namespace shoal::server
