// CacheTracker: which clients may cache what, and the invalidations a change waits for
// (DESIGN.md §5 "Caching with invalidation"; docs/design.md explains the protocol).
//
// Clients let their kernels cache what answers say: a node's attributes (and, by version, its
// pages), a name in a directory (found or not found), a directory's listing. For each session the
// tracker remembers the items its answers granted. When a change by one session touches an item
// another session was granted, that session is pushed an invalidation, and the change's answer is
// held (`done` runs later) until every such session has acknowledged or has been declared lost
// after ack_timeout_ms. A pushed item leaves the session's set: its kernel no longer caches it
// until another answer grants it again.
//
// Races. An answer read before a change but granted after the change looked at the sets would
// leave a stale item cached that nobody will invalidate. So a request takes Sequence() before it
// runs, and Grant refuses (the answer must then not be cached) if a change by another session
// touched one of its items since; recent changes are kept in a bounded ring, and a grant older
// than the ring is refused. The opposite order — granted first, but the answer leaving after the
// push — is caught by the client, which does not cache an answer that arrives after a push it got
// while waiting for it.
//
// Bounds. At most tracked_items_per_session_max items per session: a session that would exceed it
// is pushed "drop everything" and starts with an empty set once it acknowledges (until then its
// grants are refused). An item that had to be pushed more than hot_changes_max times within
// hot_window_ms is not granted to anyone for hot_cool_down_ms: it goes uncached rather than being
// invalidated again and again.
//
// No sockets and no clock of its own: sessions are reached through PushSink, time comes in as
// arguments (ExpireUntil is the one loop that reads the clock). Thread-safe. PushSink calls and
// `done` run outside the tracker's lock, on the thread of the call that caused them (Change, Ack,
// Expire, RemoveSession); they must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace shoal::server {

// One thing a client's kernel may cache.
struct CacheItem {
  enum class Kind : uint8_t { kAttributes, kEntry, kListing };
  Kind kind = Kind::kAttributes;
  uint64_t node = 0;  // the node; for an entry, its directory
  std::string name;   // entries only

  static CacheItem Attributes(uint64_t node) { return {.kind = Kind::kAttributes, .node = node, .name = {}}; }
  static CacheItem Entry(uint64_t parent, std::string name) {
    return {.kind = Kind::kEntry, .node = parent, .name = std::move(name)};
  }
  static CacheItem Listing(uint64_t directory) { return {.kind = Kind::kListing, .node = directory, .name = {}}; }
  bool operator==(const CacheItem&) const = default;
};

// What one session is told to drop.
struct Invalidation {
  std::vector<CacheItem> items;
  bool all = false;  // everything it may cache
};

// How the tracker reaches a session. Implementations must not call back into the tracker.
class PushSink {
 public:
  virtual ~PushSink() = default;
  // Sends push `push_id`; the session's acknowledgement comes back through CacheTracker::Ack.
  virtual void Push(uint64_t push_id, const Invalidation& invalidation) = 0;
  // The session did not acknowledge in time and is forgotten: disconnect it, so that its client
  // knows it must drop its cache.
  virtual void Lost(const std::string& reason) = 0;
};

struct CacheTrackerOptions {
  int ack_timeout_ms = 1000;  // per session and push; also the clients' lease
  size_t tracked_items_per_session_max = 1 << 16;
  size_t recent_changes_max = 1 << 14;  // items of recent changes kept to catch racing grants
  int hot_changes_max = 16;
  int hot_window_ms = 1000;
  int hot_cool_down_ms = 5000;
};

class CacheTracker {
 public:
  using Clock = std::chrono::steady_clock;
  using SessionId = uint64_t;  // never 0

  explicit CacheTracker(CacheTrackerOptions options) : options_(options) {}
  CacheTracker(const CacheTracker&) = delete;
  CacheTracker& operator=(const CacheTracker&) = delete;

  const CacheTrackerOptions& options() const { return options_; }

  // Registers a session of `volume` (sessions of different volumes never affect each other).
  // `sink` null: a client that takes no pushes; nothing is granted to it, but its changes count.
  SessionId AddSession(std::string_view volume, std::shared_ptr<PushSink> sink);
  // Forgets a session whose connection closed; changes waiting for it go on.
  void RemoveSession(SessionId session);
  // Whether another session of the same volume takes pushes (else a change needs no care).
  bool Shared(SessionId session) const;

  // To be taken before a request runs, and given to Grant after.
  uint64_t Sequence() const;
  // Records that `session`'s answer, computed after Sequence() returned `since`, lets its kernel
  // cache `items`. False: refused (raced with a change, hot item, set full, no pushes): the answer
  // must tell the client not to cache it.
  [[nodiscard]] bool Grant(SessionId session, std::span<const CacheItem> items, uint64_t since, Clock::time_point now);
  // Records that `changer` has just changed `items`; pushes the other sessions that were granted
  // any of them, and runs `done` once each has acknowledged or is lost (at once if none).
  void Change(SessionId changer, std::span<const CacheItem> items, Clock::time_point now, std::function<void()> done);
  // `session` has carried out push `push_id`.
  void Ack(SessionId session, uint64_t push_id);
  // Declares lost every session with a push unacknowledged at its deadline.
  void Expire(Clock::time_point now);
  // Runs Expire at each deadline until `stop` is requested (the server's thread for it).
  void ExpireUntil(std::stop_token stop);

  size_t TrackedItems(SessionId session) const;  // for tests

 private:
  using Key = uint64_t;
  struct Outstanding {
    Clock::time_point deadline;
    std::vector<uint64_t> waiting_changes;
    bool reset = false;  // the "drop everything" push of a full session
  };
  struct SessionState {
    uint64_t volume = 0;
    std::shared_ptr<PushSink> sink;
    std::unordered_set<Key> granted;
    std::map<uint64_t, Outstanding> outstanding;  // by push id
    bool reset_pending = false;
  };
  struct WaitingChange {
    size_t acks_left = 0;
    std::function<void()> done;
  };
  struct Recent {
    uint64_t sequence;
    SessionId changer;
    Key key;
  };
  struct Heat {
    Clock::time_point window_start;
    int pushes = 0;
    Clock::time_point hot_until;
  };
  // What to do once the lock is released.
  struct Actions {
    std::vector<std::pair<std::shared_ptr<PushSink>, std::pair<uint64_t, Invalidation>>> pushes;
    std::vector<std::pair<std::shared_ptr<PushSink>, std::string>> lost;
    std::vector<std::function<void()>> done;
    void Run();
  };

  static Key KeyOf(uint64_t volume, const CacheItem& item);
  bool RacedSince(SessionId session, const std::vector<Key>& keys, uint64_t since) const;
  void NoteHeat(Key key, Clock::time_point now);
  void ReleaseWaiters(const std::vector<uint64_t>& changes, Actions& actions);
  void DropSession(SessionId session, Actions& actions);

  const CacheTrackerOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable_any deadline_changed_;
  SessionId next_session_ = 1;  // all below guarded by mutex_
  uint64_t next_push_id_ = 1;
  uint64_t next_change_ = 1;
  uint64_t sequence_ = 0;
  uint64_t forgotten_sequence_ = 0;  // changes up to this one may have left the ring
  uint64_t deadlines_added_ = 0;     // wakes ExpireUntil
  std::unordered_map<SessionId, SessionState> sessions_;
  std::unordered_map<uint64_t, WaitingChange> changes_;
  std::deque<Recent> recent_;
  std::unordered_map<Key, Heat> heat_;
};

}  // namespace shoal::server
