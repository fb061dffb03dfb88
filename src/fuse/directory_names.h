// DirectoryNames: every name in the directories this mount made, for as long as no other client
// changes their names, to answer the kernel's lookup of a name that is not there by itself.
//
// The kernel looks a name up before it creates it, and the server answers "no such name": one
// round trip of a small file's five. In a directory this mount made and in which nobody else has
// made or removed a name since, this mount knows every name, having made each of them; copying a
// tree in (cp -a, tar x, a web upload into this month's new directory) then skips that trip.
//
// A directory's set starts empty with this mount's mkdir of it (from an answer that may be
// cached, on a trusted lease: the answer granted the directory's attributes, so any other
// client's change of its names is pushed). This mount's changes keep it up: a name goes in when
// the change making it is sent (while it is on its way, lookups of it go to the server, whatever
// the answer), and comes out only when its removal or rename away has succeeded. The set is
// dropped when a push names the directory (its attributes, listing or one of its names), and
// with every other set when the lease lapses or the connection changes (Clear). The "no such
// name" answers given from a set are not cached by the kernel: nothing else has to be dropped.
//
// Bounded: past kNamesMax names in all it forgets everything. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace shoal::fuse {

class DirectoryNames {
 public:
  static constexpr size_t kNamesMax = 1 << 18;

  // Read before a mkdir is sent, passed to Made with its answer: a Clear in between wins.
  uint64_t epoch() const {
    std::lock_guard lock(mutex_);
    return epoch_;
  }

  // This mount made `dir` (empty) with a change sent at `epoch`.
  void Made(uint64_t dir, uint64_t epoch) {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return;
    sets_.try_emplace(dir);
  }

  // A change making `name` in `dir` is about to be sent (create, mknod, mkdir, symlink, link,
  // rename to it).
  void Adding(uint64_t dir, std::string_view name) {
    std::lock_guard lock(mutex_);
    auto set = sets_.find(dir);
    if (set == sets_.end()) return;
    if (++names_ > kNamesMax) return ClearLocked();
    set->second.emplace(name);
  }

  // A change taking `name` out of `dir` (remove, rename away) succeeded.
  void Removed(uint64_t dir, std::string_view name) {
    std::lock_guard lock(mutex_);
    if (auto set = sets_.find(dir); set != sets_.end()) set->second.erase(std::string(name));
  }

  // Whether `name` is surely not in `dir`.
  bool Absent(uint64_t dir, std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto set = sets_.find(dir);
    return set != sets_.end() && !set->second.contains(std::string(name));
  }

  // Someone else may have changed the names of `dir`.
  void Forget(uint64_t dir) {
    std::lock_guard lock(mutex_);
    sets_.erase(dir);
  }

  void Clear() {
    std::lock_guard lock(mutex_);
    ClearLocked();
  }

 private:
  void ClearLocked() {
    sets_.clear();
    names_ = 0;
    ++epoch_;
  }

  mutable std::mutex mutex_;
  uint64_t epoch_ = 0;  // guarded by mutex_: Clears so far
  size_t names_ = 0;    // guarded by mutex_: names added since the last Clear (an upper bound)
  std::unordered_map<uint64_t, std::unordered_set<std::string>> sets_;  // guarded by mutex_
};

}  // namespace shoal::fuse
