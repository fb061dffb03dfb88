// ReplyCache: the answers to recent changes, by (client id, request id), so that a change a
// client sends again — its connection broke, or the primary failed over before it heard the
// answer — takes effect once (DESIGN.md §5, "exactly-once effect of retried requests").
//
// Each brick of a replicated volume keeps one: the primary fills it as it applies changes, the
// backups as they apply what it forwards, so the brick that takes the primary role next knows
// every change it has applied. Bounded: the oldest answers go first (a client resends within
// seconds, not after thousands of other changes).
//
// Thread-safe.
#pragma once

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
  void Insert(const std::string& client_id, uint64_t request_id, const proto::Response& response);
  std::optional<proto::Response> Find(const std::string& client_id, uint64_t request_id) const;

 private:
  using Key = std::pair<std::string, uint64_t>;
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<Key, proto::Response> answers_;  // guarded by mutex_
  std::deque<Key> order_;                   // oldest first; guarded by mutex_
};

}  // namespace shoal::server
