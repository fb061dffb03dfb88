// NodeCache: O_PATH descriptors of recently used nodes, so a request resolves its node without a
// trip through the index and open_by_handle_at. Bounded: when full, the least recently used entry
// is dropped (its descriptor closes once the last request using it lets go). The order matters:
// a create resolves the parent, then inserts the new node, then resolves the parent again for
// its times; any policy that can drop what was just used (as dropping an arbitrary entry did)
// reopens the directory once per file as soon as a brick holds more nodes than the cache.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "common/unique_fd.h"

namespace shoal::storage {

struct NodeFd {
  UniqueFd fd;  // O_PATH
  ino_t brick_ino = 0;
};

class NodeCache {
 public:
  explicit NodeCache(size_t entries_max) : entries_max_(entries_max > 0 ? entries_max : 1) {}

  std::shared_ptr<NodeFd> Find(uint64_t node) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(node);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);  // now the most recently used
    return it->second->second;
  }
  void Insert(uint64_t node, std::shared_ptr<NodeFd> fd) {
    std::lock_guard lock(mutex_);
    if (auto it = map_.find(node); it != map_.end()) {
      it->second->second = std::move(fd);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    if (map_.size() >= entries_max_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(node, std::move(fd));
    map_.emplace(node, order_.begin());
  }
  void Erase(uint64_t node) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(node);
    if (it == map_.end()) return;
    order_.erase(it->second);
    map_.erase(it);
  }

 private:
  using Entry = std::pair<uint64_t, std::shared_ptr<NodeFd>>;

  const size_t entries_max_;
  std::mutex mutex_;
  std::list<Entry> order_;                                           // most recently used first; guarded by mutex_
  std::unordered_map<uint64_t, std::list<Entry>::iterator> map_;  // into order_; guarded by mutex_
};

}  // namespace shoal::storage
