// VersionTable: decides whether the kernel may keep a file's cached pages when it is opened.
//
// Close-to-open, as NFS does it: the pages cached at the last open may be kept if the file's
// version (mtime, size) seen since — from any lookup, getattr or readdirplus reply — is the one
// they were cached at. Bounded: when full it forgets everything, which only costs re-reads.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "proto/shoal.pb.h"

namespace shoal::fuse {

class VersionTable {
 public:
  static constexpr size_t kEntriesMax = 1 << 17;

  // Records the newest attributes the server gave for a node.
  void NoteSeen(const proto::Attr& attr) {
    std::lock_guard lock(mutex_);
    if (map_.size() >= kEntriesMax && !map_.contains(attr.ino())) map_.clear();
    map_[attr.ino()].seen = {attr.mtime_ns(), attr.size()};
  }

  // Another client changed the node: its cached pages are not kept at the next open.
  void Forget(uint64_t ino) {
    std::lock_guard lock(mutex_);
    map_.erase(ino);
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    map_.clear();
  }

  // Called at open: whether the cached pages are still the file's; they are the file's from now.
  bool KeepOnOpen(uint64_t ino) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(ino);
    if (it == map_.end()) return false;
    bool keep = it->second.cached_valid && it->second.cached == it->second.seen;
    it->second.cached = it->second.seen;
    it->second.cached_valid = true;
    return keep;
  }

 private:
  using Version = std::pair<int64_t, uint64_t>;  // mtime ns, size
  struct Entry {
    Version seen{};
    Version cached{};
    bool cached_valid = false;
  };
  std::mutex mutex_;
  std::unordered_map<uint64_t, Entry> map_;  // guarded by mutex_
};

}  // namespace shoal::fuse
