#include "server/reply_cache.h"

#include "proto/messages.h"

namespace shoal::server {

void ReplyCache::Insert(const std::string& client_id, uint64_t request_id, const proto::Response& response,
                        bool settled) {
  if (client_id.empty() || request_id == 0) return;
  std::lock_guard lock(mutex_);
  Key key{client_id, request_id};
  if (!answers_.insert_or_assign(key, Entry{.response = response, .settled = settled}).second) return;
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    answers_.erase(order_.front());
    order_.pop_front();
  }
}

void ReplyCache::Settle(const std::string& client_id, uint64_t request_id, const proto::Response& outcome) {
  if (client_id.empty() || request_id == 0) return;
  {
    std::lock_guard lock(mutex_);
    auto it = answers_.find({client_id, request_id});
    if (it == answers_.end()) return;
    it->second = Entry{.response = outcome, .settled = true};
  }
  settled_.notify_all();
}

bool ReplyCache::Contains(const std::string& client_id, uint64_t request_id) const {
  if (client_id.empty() || request_id == 0) return false;
  std::lock_guard lock(mutex_);
  return answers_.contains({client_id, request_id});
}

std::optional<proto::Response> ReplyCache::Find(const std::string& client_id, uint64_t request_id,
                                                std::chrono::milliseconds wait) const {
  if (client_id.empty() || request_id == 0) return std::nullopt;
  const Key key{client_id, request_id};
  std::unique_lock lock(mutex_);
  auto settled = [&] {
    auto it = answers_.find(key);
    return it == answers_.end() || it->second.settled;
  };
  if (!settled_.wait_for(lock, wait, settled))
    return proto::ErrorResponse(Status(Code::kBusy, "the first copy of this request is still being replicated"));
  auto it = answers_.find(key);
  if (it == answers_.end()) return std::nullopt;
  return it->second.response;
}

}  // namespace shoal::server
