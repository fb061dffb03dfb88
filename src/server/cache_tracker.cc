#include "server/cache_tracker.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shoal::server {
namespace {

constexpr size_t kHeatEntriesMax = 1 << 14;

}  // namespace

void CacheTracker::Actions::Run() {
  for (auto& [sink, push] : pushes) sink->Push(push.first, push.second);
  for (auto& [sink, reason] : lost) sink->Lost(reason);
  for (auto& done_one : done) done_one();
}

// A collision only costs a needless push (or a needless refusal), never a missed one: equal items
// always have equal keys.
CacheTracker::Key CacheTracker::KeyOf(uint64_t volume, const CacheItem& item) {
  std::string bytes(8 + 8 + 1 + item.name.size(), '\0');
  std::memcpy(bytes.data(), &volume, 8);
  std::memcpy(bytes.data() + 8, &item.node, 8);
  bytes[16] = static_cast<char>(item.kind);
  std::memcpy(bytes.data() + 17, item.name.data(), item.name.size());
  return XXH3_64bits(bytes.data(), bytes.size());
}

CacheTracker::SessionId CacheTracker::AddSession(std::string_view volume, std::shared_ptr<PushSink> sink) {
  std::lock_guard lock(mutex_);
  SessionId id = next_session_++;
  SessionState& state = sessions_[id];
  state.volume = XXH3_64bits(volume.data(), volume.size());
  state.sink = std::move(sink);
  return id;
}

void CacheTracker::RemoveSession(SessionId session) {
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    DropSession(session, actions);
  }
  actions.Run();
}

void CacheTracker::DropSession(SessionId session, Actions& actions) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  for (auto& [push_id, outstanding] : it->second.outstanding) ReleaseWaiters(outstanding.waiting_changes, actions);
  sessions_.erase(it);
}

void CacheTracker::ReleaseWaiters(const std::vector<uint64_t>& changes, Actions& actions) {
  for (uint64_t change : changes) {
    auto it = changes_.find(change);
    if (it == changes_.end()) continue;
    if (--it->second.acks_left == 0) {
      actions.done.push_back(std::move(it->second.done));
      changes_.erase(it);
    }
  }
}

bool CacheTracker::Shared(SessionId session) const {
  std::lock_guard lock(mutex_);
  auto self = sessions_.find(session);
  if (self == sessions_.end()) return false;
  for (const auto& [id, state] : sessions_)
    if (id != session && state.sink && state.volume == self->second.volume) return true;
  return false;
}

uint64_t CacheTracker::Sequence() const {
  std::lock_guard lock(mutex_);
  return sequence_;
}

bool CacheTracker::RacedSince(SessionId session, const std::vector<Key>& keys, uint64_t since) const {
  if (since == sequence_) return false;
  if (since < forgotten_sequence_) return true;  // the ring no longer covers it: assume the worst
  for (auto it = recent_.rbegin(); it != recent_.rend() && it->sequence > since; ++it)
    if (it->changer != session && std::find(keys.begin(), keys.end(), it->key) != keys.end()) return true;
  return false;
}

bool CacheTracker::Grant(SessionId session, std::span<const CacheItem> items, uint64_t since, Clock::time_point now) {
  Actions actions;
  bool granted = false;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session);
    if (it == sessions_.end() || !it->second.sink) return false;
    SessionState& state = it->second;
    if (state.reset_pending) return false;
    std::vector<Key> keys;
    keys.reserve(items.size());
    for (const CacheItem& item : items) keys.push_back(KeyOf(state.volume, item));
    for (Key key : keys)
      if (auto hot = heat_.find(key); hot != heat_.end() && hot->second.hot_until > now) return false;
    if (RacedSince(session, keys, since)) return false;
    if (state.granted.size() + keys.size() > options_.tracked_items_per_session_max) {
      // Full: the client drops everything, and the set starts afresh once it says it has.
      uint64_t push_id = next_push_id_++;
      state.outstanding[push_id] =
          Outstanding{.deadline = now + std::chrono::milliseconds(options_.ack_timeout_ms), .waiting_changes = {}, .reset = true};
      state.reset_pending = true;
      ++deadlines_added_;
      actions.pushes.push_back({state.sink, {push_id, Invalidation{.items = {}, .all = true}}});
      spdlog::info("cache.reset session={} tracked={}", session, state.granted.size());
    } else {
      state.granted.insert(keys.begin(), keys.end());
      granted = true;
    }
  }
  if (!actions.pushes.empty()) deadline_changed_.notify_all();
  actions.Run();
  return granted;
}

void CacheTracker::NoteHeat(Key key, Clock::time_point now) {
  if (heat_.size() >= kHeatEntriesMax && !heat_.contains(key))
    std::erase_if(heat_, [now, this](const auto& entry) {
      return entry.second.hot_until <= now &&
             now - entry.second.window_start > std::chrono::milliseconds(options_.hot_window_ms);
    });
  if (heat_.size() >= kHeatEntriesMax && !heat_.contains(key)) return;  // everything is hot: keep what we have
  Heat& heat = heat_[key];
  if (now - heat.window_start > std::chrono::milliseconds(options_.hot_window_ms)) {
    heat.window_start = now;
    heat.pushes = 0;
  }
  if (++heat.pushes > options_.hot_changes_max) heat.hot_until = now + std::chrono::milliseconds(options_.hot_cool_down_ms);
}

void CacheTracker::Change(SessionId changer, std::span<const CacheItem> items, Clock::time_point now,
                          std::function<void()> done) {
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    auto self = sessions_.find(changer);
    const uint64_t volume = self != sessions_.end() ? self->second.volume : 0;
    ++sequence_;
    std::vector<Key> keys;
    keys.reserve(items.size());
    for (const CacheItem& item : items) {
      keys.push_back(KeyOf(volume, item));
      recent_.push_back({.sequence = sequence_, .changer = changer, .key = keys.back()});
    }
    while (recent_.size() > options_.recent_changes_max) {
      forgotten_sequence_ = recent_.front().sequence;
      recent_.pop_front();
    }
    const uint64_t change = next_change_++;
    size_t pushes = 0;
    std::vector<bool> pushed(items.size(), false);
    for (auto& [id, state] : sessions_) {
      if (id == changer || !state.sink || state.volume != volume || state.granted.empty()) continue;
      Invalidation invalidation;
      for (size_t i = 0; i < items.size(); ++i) {
        if (state.granted.erase(keys[i]) == 0) continue;
        invalidation.items.push_back(items[i]);
        pushed[i] = true;
      }
      if (invalidation.items.empty()) continue;
      uint64_t push_id = next_push_id_++;
      state.outstanding[push_id] = Outstanding{.deadline = now + std::chrono::milliseconds(options_.ack_timeout_ms),
                                               .waiting_changes = {change}};
      actions.pushes.push_back({state.sink, {push_id, std::move(invalidation)}});
      ++deadlines_added_;
      ++pushes;
    }
    for (size_t i = 0; i < items.size(); ++i)
      if (pushed[i]) NoteHeat(keys[i], now);
    if (pushes == 0) {
      actions.done.push_back(std::move(done));
    } else {
      changes_[change] = WaitingChange{.acks_left = pushes, .done = std::move(done)};
    }
  }
  if (!actions.pushes.empty()) deadline_changed_.notify_all();
  actions.Run();
}

void CacheTracker::Ack(SessionId session, uint64_t push_id) {
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    auto outstanding = it->second.outstanding.find(push_id);
    if (outstanding == it->second.outstanding.end()) return;  // late, or never sent: nothing waits
    if (outstanding->second.reset) {
      it->second.granted.clear();
      it->second.reset_pending = false;
    }
    ReleaseWaiters(outstanding->second.waiting_changes, actions);
    it->second.outstanding.erase(outstanding);
  }
  actions.Run();
}

void CacheTracker::Expire(Clock::time_point now) {
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    std::vector<SessionId> overdue;
    for (const auto& [id, state] : sessions_)
      for (const auto& [push_id, outstanding] : state.outstanding)
        if (outstanding.deadline <= now) {
          overdue.push_back(id);
          break;
        }
    for (SessionId id : overdue) {
      spdlog::warn("cache.client_lost session={} ack_timeout_ms={}", id, options_.ack_timeout_ms);
      actions.lost.push_back({sessions_[id].sink, fmt::format("no acknowledgement of an invalidation within {} ms",
                                                               options_.ack_timeout_ms)});
      DropSession(id, actions);
    }
  }
  actions.Run();
}

void CacheTracker::ExpireUntil(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    auto next = Clock::time_point::max();
    for (const auto& [id, state] : sessions_)
      for (const auto& [push_id, outstanding] : state.outstanding) next = std::min(next, outstanding.deadline);
    const uint64_t seen = deadlines_added_;
    auto added = [&] { return deadlines_added_ != seen; };
    if (next == Clock::time_point::max()) {
      deadline_changed_.wait(lock, stop, added);
    } else {
      deadline_changed_.wait_until(lock, stop, next, added);
    }
    if (stop.stop_requested()) break;
    lock.unlock();
    Expire(Clock::now());
    lock.lock();
  }
}

size_t CacheTracker::TrackedItems(SessionId session) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session);
  return it == sessions_.end() ? 0 : it->second.granted.size();
}

}  // namespace shoal::server
