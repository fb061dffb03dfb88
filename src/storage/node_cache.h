// NodeCache: O_PATH descriptors of recently used nodes, so a request resolves its node without a
// trip through the index and open_by_handle_at. Bounded: when full, an arbitrary entry is
// dropped (its descriptor closes once the last request using it lets go). Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/unique_fd.h"

namespace shoal::storage {

struct NodeFd {
  UniqueFd fd;  // O_PATH
  ino_t brick_ino = 0;
};

class NodeCache {
 public:
  explicit NodeCache(size_t entries_max) : entries_max_(entries_max) {}

  std::shared_ptr<NodeFd> Find(uint64_t node) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(node);
    return it == map_.end() ? nullptr : it->second;
  }
  void Insert(uint64_t node, std::shared_ptr<NodeFd> fd) {
    std::lock_guard lock(mutex_);
    if (map_.size() >= entries_max_ && !map_.contains(node)) map_.erase(map_.begin());
    map_[node] = std::move(fd);
  }
  void Erase(uint64_t node) {
    std::lock_guard lock(mutex_);
    map_.erase(node);
  }

 private:
  const size_t entries_max_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<NodeFd>> map_;  // guarded by mutex_
};

}  // namespace shoal::storage
