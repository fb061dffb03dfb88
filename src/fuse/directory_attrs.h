// DirectoryAttrs: a directory's attributes as this mount's own last change of its names left
// them, to answer the kernel's next getattr of the directory without asking the server.
//
// The kernel drops a directory's attributes whenever it creates, links or removes a name in it,
// and its next path walk through the directory asks for them again (it checks permissions with
// them): one more round trip for every file created, a quarter of a small file's cost. The
// answer to the change carries the directory's attributes after it (Response.changed_dirs, which
// the server tracks like any answer the kernel may cache), so the client keeps them and answers
// that one getattr itself. Once: the answer is then the kernel's to cache.
//
// An entry is kept only while nothing else can have changed the directory: it is dropped when
// this mount sends another change of the directory (Begin) or lists it (atime), when the server
// pushes an invalidation of it (Forget), when the lease lapses (Clear, with everything else the
// kernel was given). Nothing is kept from an answer that may not be cached (the caller passes
// no time), from two changes of one directory in flight at once (their answers may arrive in
// either order), or from a change begun before a Clear. A rename or the removal of a directory
// clears everything: the directory moved or removed may itself be kept.
//
// Times come in as arguments. Bounded: when full it forgets everything. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "proto/shoal.pb.h"

namespace shoal::fuse {

class DirectoryAttrs {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kEntriesMax = 1 << 14;

  // A change of the names (or attributes) of `dirs`, on its way to the server.
  struct Change {
    std::vector<uint64_t> dirs;
    uint64_t epoch = 0;
  };
  struct Kept {
    proto::Attr attr;
    double ttl_s = 0;  // what is left of the time it may be kept
  };

  // Before the change is sent: the directories' entries go (their attributes are about to change).
  Change Begin(std::vector<uint64_t> dirs) {
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());  // a rename within one directory
    std::lock_guard lock(mutex_);
    for (uint64_t dir : dirs) {
      kept_.erase(dir);
      Flight& flight = flights_[dir];
      if (flight.count++ > 0) flight.crossed = true;
    }
    return Change{.dirs = std::move(dirs), .epoch = epoch_};
  }

  // The change was answered (or failed: `changed` empty). Keeps the attributes of the change's
  // directories found in `changed` until `now + ttl_s`; ttl_s <= 0 keeps nothing.
  template <typename Attrs>
  void End(const Change& change, const Attrs& changed, double ttl_s, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    for (uint64_t dir : change.dirs) {
      auto flight = flights_.find(dir);
      if (flight == flights_.end()) continue;  // cannot happen: Begin made it
      const bool crossed = flight->second.crossed;
      if (--flight->second.count == 0) flights_.erase(flight);
      if (crossed || ttl_s <= 0 || change.epoch != epoch_) continue;
      for (const proto::Attr& attr : changed) {
        if (attr.ino() != dir) continue;
        if (kept_.size() >= kEntriesMax) kept_.clear();
        kept_[dir] = Entry{.attr = attr, .until = now + Duration(ttl_s)};
      }
    }
  }

  // The kept attributes of `dir`, if any are still good; they are given out once.
  std::optional<Kept> Take(uint64_t dir, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    auto it = kept_.find(dir);
    if (it == kept_.end()) return std::nullopt;
    Entry entry = std::move(it->second);
    kept_.erase(it);
    if (entry.until <= now) return std::nullopt;
    return Kept{.attr = std::move(entry.attr), .ttl_s = std::chrono::duration<double>(entry.until - now).count()};
  }

  // The directory changed some other way (a push, a listing): its entry goes, and changes of it
  // in flight keep nothing.
  void Forget(uint64_t node) {
    std::lock_guard lock(mutex_);
    kept_.erase(node);
    if (auto flight = flights_.find(node); flight != flights_.end()) flight->second.crossed = true;
  }

  // Everything goes, and no change in flight keeps anything.
  void Clear() {
    std::lock_guard lock(mutex_);
    kept_.clear();
    ++epoch_;
  }

 private:
  static Clock::duration Duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
  struct Entry {
    proto::Attr attr;
    Clock::time_point until;
  };
  struct Flight {
    int count = 0;         // changes of the directory sent and not yet answered
    bool crossed = false;  // another change or a Forget met one of them: none keeps anything
  };
  std::mutex mutex_;
  uint64_t epoch_ = 0;                                // guarded by mutex_: Clear()s so far
  std::unordered_map<uint64_t, Entry> kept_;          // guarded by mutex_
  std::unordered_map<uint64_t, Flight> flights_;      // guarded by mutex_
};

}  // namespace shoal::fuse
