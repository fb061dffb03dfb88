// ReplyCache: the answers to recent changes, by (client id, request id), so that a change a
// client sends again — its connection broke, or the primary failed over before it heard the
// answer — takes effect once (DESIGN.md §5, "exactly-once effect of retried requests").
//
// Each brick of a replicated volume keeps one: the primary fills it as it applies changes, the
// backups as they apply what it forwards, so the brick that takes the primary role next knows
// every change it has applied. Bounded: the oldest answers go first (a client resends within
// seconds, not after thousands of other changes).
//
// The primary's answer is unsettled until the backups have applied the change (or it failed to
// replicate): a copy sent again meanwhile, by a client that reconnected to the same primary,
// waits for the first copy's outcome (Find) instead of taking an answer that may yet turn into
// an error, while a backup it is told of may still lack the change and serve reads of it.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "proto/shoal.pb.h"

namespace shoal::server {

class ReplyCache {
 public:
  explicit ReplyCache(size_t capacity = 16384) : capacity_(capacity) {}

  // Nothing is kept for a request without an identity (empty client id or request id 0).
  // `settled`: false for the primary's answer before the backups confirmed the change.
  void Insert(const std::string& client_id, uint64_t request_id, const proto::Response& response, bool settled = true);
  // The first copy's outcome: its answer, or the error it was answered with instead.
  void Settle(const std::string& client_id, uint64_t request_id, const proto::Response& outcome);
  bool Contains(const std::string& client_id, uint64_t request_id) const;
  // The answer, once settled: waits for an unsettled one, at most `wait` (then kBusy).
  std::optional<proto::Response> Find(const std::string& client_id, uint64_t request_id,
                                      std::chrono::milliseconds wait = std::chrono::seconds(60)) const;

 private:
  using Key = std::pair<std::string, uint64_t>;
  struct Entry {
    proto::Response response;
    bool settled = true;
  };
  const size_t capacity_;
  mutable std::mutex mutex_;
  mutable std::condition_variable settled_;
  std::map<Key, Entry> answers_;  // guarded by mutex_
  std::deque<Key> order_;         // oldest first; guarded by mutex_
};

}  // namespace shoal::server
