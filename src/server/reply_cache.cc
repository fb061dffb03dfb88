#include "server/reply_cache.h"

namespace shoal::server {

void ReplyCache::Insert(const std::string& client_id, uint64_t request_id, const proto::Response& response) {
  if (client_id.empty() || request_id == 0) return;
  std::lock_guard lock(mutex_);
  Key key{client_id, request_id};
  if (!answers_.insert_or_assign(key, response).second) return;
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    answers_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<proto::Response> ReplyCache::Find(const std::string& client_id, uint64_t request_id) const {
  if (client_id.empty() || request_id == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = answers_.find({client_id, request_id});
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace shoal::server
