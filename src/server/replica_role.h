// ReplicaRole: what this server's brick of a replicated volume is in its replica set — primary,
// backup, or out of sync — and the primary's half of the write path (DESIGN.md §5).
//
// A thread per role watches the replica set in etcd (replica_set.h) every `poll_ms`:
//   - a backup in the in-sync set takes the primary role when no one holds it (the old
//     primary's lease ran out or it handed the role over), under its own lease (epoch + 1);
//   - the primary renews its lease, and stops acknowledging anything the moment it can no
//     longer be sure it holds it (`lease_valid_until_`): a frozen or cut-off primary fences
//     itself, and the backups refuse what it forwards once another brick holds the role;
//   - a brick outside the in-sync set refuses clients: it never serves reads nor becomes primary
//     until a heal brings it back.
//
// The primary applies each change locally and forwards it to every other in-sync brick, in the
// order applied (Change), and acknowledges it only when every one of them applied it with the
// same result. A backup that misses the deadline, answers differently or lost its connection is
// first removed from the in-sync set by a committed compare-and-swap (epoch + 1); a change that
// leaves fewer than min_in_sync bricks is refused.
//
// The primary also heals (replica_heal.cc): for each brick outside the in-sync set whose server
// answers, a thread makes that brick's tree the same as its own (TreeSync), first while clients
// write, then over what changed meanwhile with the volume's changes held, and brings it back into
// the in-sync set (epoch + 1) in the same hold, so that it misses nothing.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "coord/etcd_client.h"
#include "net/client_transport.h"
#include "net/worker_pool.h"
#include "proto/shoal.pb.h"
#include "server/missed_record.h"
#include "server/replica_set.h"
#include "server/reply_cache.h"

namespace shoal::server {

class ServedVolume;
class TreeSync;

struct ReplicaRoleOptions {
  std::string server_name;        // this server, host:port as in the volume's bricks
  int poll_ms = 100;              // how often etcd is asked; bounds how late a failover starts
  int lease_ttl_s = 1;            // the primary's etcd lease
  // A backup that does not answer pings for this long (dead, frozen, cut off) leaves the in-sync
  // set; one that answers but has not applied a change after change_deadline_ms (a stalled disk)
  // leaves it too. An fsync of many dirty pages can take seconds on a busy disk.
  int backup_silence_ms = 1000;
  int change_deadline_ms = 30000;
  // How long a backup may serve reads after the primary last heard it take a read lease. A
  // primary that takes a backup out of the in-sync set waits this out (from its last grant)
  // before it acknowledges a change the backup missed; at most backup_silence_ms, that wait is
  // usually over before the backup is found silent.
  int read_lease_ms = 1000;
};

class ReplicaRole {
 public:
  enum class State { kStarting, kBackup, kPrimary, kOutOfSync };

  ReplicaRole(ReplicaRoleOptions options, proto::Volume volume, uint32_t brick, ServedVolume& served,
              std::function<std::shared_ptr<coord::EtcdClient>()> etcd);
  ~ReplicaRole();  // Stop()
  // Stops watching etcd; a primary hands its role over (a planned stop: another brick takes it
  // at once). Afterwards the brick is neither primary nor in sync. Idempotent.
  void Stop();
  ReplicaRole(const ReplicaRole&) = delete;
  ReplicaRole& operator=(const ReplicaRole&) = delete;

  uint32_t brick() const { return brick_; }
  // The volume's record changed (its options: min-in-sync).
  void UpdateVolume(const proto::Volume& volume);
  // The answers to the changes this brick applied (as primary or backup).
  ReplyCache& replies() { return replies_; }
  State state() const;
  // "primary", "in-sync", "healing", "out-of-sync" (and "starting" before etcd first answered).
  std::string StateName() const;
  proto::ReplicaSet replica_set() const;
  proto::LogPosition applied() const;

  // Whether this brick may answer a client's read now: only while it surely holds the primary
  // role (a primary that froze and woke up must not answer from a brick a new primary has moved
  // on from); kNotPrimary if not.
  Status MayServeRead() const;
  // Whether this brick may answer a read of a file's data spread to it (a ROLE_READ connection)
  // now: as the primary (MayServeRead), or as a backup holding a read lease; kUnavailable if
  // not. Asked after the data was read, so the data is no older than the answer.
  Status MayServeSpreadRead() const;
  // Backup side: the primary of `epoch` offers a read lease and may grant an earlier offer
  // (ReadLeaseRequest). Refused from a primary that no longer holds the role here.
  Status TakeReadLease(uint64_t epoch, const proto::ReadLeaseRequest& lease);
  // Whether a lock may be granted now, not reclaimed: not during the grace period after this
  // brick took the role from another (kBusy then), when the clients take their locks again.
  Status MayGrantLock() const;
  // Whether a client's connection of `role` may be served now; kNotPrimary saying why if not.
  Status AdmitClient(proto::HelloRole role) const;
  // Whether the primary of `epoch` may forward changes here (backup side).
  Status AdmitReplication(uint64_t epoch);
  // The brick being healed: whether the primary of `epoch` may heal it (it is out of sync and that
  // primary still holds the role), when it connects and before each request; HealerLeft when
  // its connection closes; Healed when its tree is the primary's as of `position`.
  Status AdmitHealer(uint64_t epoch);
  Status CheckHealer(uint64_t epoch) const;
  void HealerLeft();
  void Healed(const proto::LogPosition& position);
  // The primary: how the heals it runs are going, by brick.
  std::vector<proto::HealProgress> heals() const;
  // The primary: compares every brick outside the in-sync set again from the root, with the
  // content of every file when `full` (shoal volume heal NAME [full]). kNotPrimary if not.
  Status HealNow(bool full);
  // Backup side, for each forwarded change: the primary of `epoch` still holds the role here and
  // `position` follows the last change applied; records it as applied when `applied` is called.
  Status CheckForwarded(uint64_t epoch, const proto::LogPosition& position) const;
  // Records a forwarded change as applied here, with the result it had: the tail of this log is
  // what a new primary sends to a backup that missed the last primary's final changes.
  // `forward.node` names the file a handle referred to.
  void NoteApplied(const proto::ReplicateRequest& forward, const net::Bulk& trailer, uint32_t status);
  // The primary's connection to this backup closed: if the primary's server no longer accepts
  // connections (its process is gone), the next poll ends its lease at once instead of waiting
  // for it to run out.
  void PrimaryConnectionLost() { primary_lost_ = true; }

  // The primary's side of one change: holds the volume's order, so that changes reach every
  // backup in the order they were applied here. Forward sends the change and lets the order go;
  // Finish waits for the backups.
  class Change {
   public:
    Change(Change&& other) noexcept
        : role_(std::exchange(other.role_, nullptr)), order_(std::move(other.order_)), fan_out_(std::move(other.fan_out_)) {}
    Change& operator=(Change&&) = delete;
    ~Change();  // the change is over: a planned stop waits for this
    // Sends `forward` (its position is filled in) to every in-sync backup.
    void Forward(proto::ReplicateRequest forward, const net::Bulk& trailer, const proto::Response& local);
    // Waits for the backups' answers; removes the bricks that failed from the in-sync set. Ok if
    // the change may be acknowledged.
    Status Finish();
    // Finish without waiting, after Forward: `done` gets what Finish would return. When every
    // backup applied the change and the lease holds, it runs on the thread of the last answer
    // (a backup connection's); otherwise on `workers`, since taking a brick out of the in-sync set
    // waits for etcd. A backup that does not answer by the deadline is given up on by the role
    // thread (GiveUpLate). The change is over when `done` returns.
    void FinishAsync(net::WorkerPool& workers, std::function<void(Status)> done) &&;

   private:
    friend class ReplicaRole;
    struct FanOut;
    Change(ReplicaRole& role, std::unique_lock<std::timed_mutex> order) : role_(&role), order_(std::move(order)) {}
    ReplicaRole* role_;
    std::unique_lock<std::timed_mutex> order_;
    std::shared_ptr<FanOut> fan_out_;
  };
  // Starts a change on the primary: kNotPrimary if this brick is not (or may no longer be) the
  // primary, kUnavailable if fewer than min_in_sync bricks are in sync.
  Result<Change> BeginChange();
  // The same, or kBusy if it would have to wait first (the order taken by another change, the
  // lease being renewed, too few bricks in sync): for a thread that must not wait.
  Result<Change> TryBeginChange();

  // The primary closed `handle`, a file it had opened on the backups too: they close it with the
  // next change forwarded to them (ReplicateRequest.released), or within a poll if none comes. A
  // close changes nothing a client can see, so it need not cost the backups a message each, nor
  // the client a wait.
  void Released(uint64_t handle);

 private:
  struct Heal;
  // The changes forwarded to a backup that it has not confirmed (applied with the primary's
  // result): a backup that leaves the in-sync set missed everything from the oldest on.
  struct Unconfirmed {
    std::mutex mutex;
    std::set<uint64_t> lsns;  // guarded by mutex
  };
  using Clock = std::chrono::steady_clock;
  // The primary's read lease for one backup (guarded by mutex_): one offer at a time; the next
  // offer grants the last one answered.
  struct ReadLease {
    uint64_t offered = 0;   // the last offer sent
    uint64_t answered = 0;  // the last offer the backup answered
    bool in_flight = false;
    bool revoked = false;   // leaving the in-sync set: nothing more is granted
    Clock::time_point granted_until{};  // no lease the backup holds lasts longer
  };
  struct Backup {
    uint32_t brick = 0;
    std::unique_ptr<net::ClientTransport> transport;
    uint64_t generation = 0;  // of the connection the role was set up on: any reconnect means missed changes
    std::shared_ptr<Unconfirmed> unconfirmed = std::make_shared<Unconfirmed>();
    std::shared_ptr<ReadLease> read_lease = std::make_shared<ReadLease>();
  };

  std::string StateNameLocked() const;
  // Sends a backup at `theirs` the changes of this brick's log up to `mine`; fails if the log
  // does not cover them or the backup's results differ.
  Status ShipTail(net::ClientTransport& backup, const proto::LogPosition& theirs, const proto::LogPosition& mine);
  // Whether another in-sync brick that answers applied more of the last primary's changes (or as
  // many, and comes first): it should take the role instead.
  bool SomeoneAhead(const ReplicaSetEntry& entry);
  void Run();
  void Tick();
  // Renews the primary's etcd lease now: kNotFound if it has expired, another error if etcd did
  // not answer.
  Status RenewLease(coord::EtcdClient& etcd);
  // The primary, on the role thread: renews its etcd lease when due; false if it was demoted
  // (the lease expired, or could not be renewed for too long).
  bool KeepLease(coord::EtcdClient& etcd);
  void Campaign(coord::EtcdClient& etcd, const ReplicaSetEntry& entry);
  // Connects to the backups of `entry` and drops those that cannot follow; false if it failed.
  bool BecomePrimary(coord::EtcdClient& etcd, ReplicaSetEntry entry);
  void Demote(const std::string& reason);
  // Heal (replica_heal.cc), on the primary's role thread: starts a heal for every brick out of
  // sync that has none running; each runs HealBrick on its own thread.
  void StartHeals();
  // What Finish does once the backups answered: takes the bricks that `failed` out of the in-sync
  // set, then checks the lease. May wait for etcd.
  Status Conclude(std::map<uint32_t, std::string> failed);
  // On the role thread: FinishAsync's changes whose deadline passed are concluded without the
  // answers still missing.
  void GiveUpLate();
  // On the role thread: forwards the handles Released since the last change, in a change of their
  // own, unless that would have to wait (the order taken, the lease being renewed).
  void ForwardReleased();
  // The watchdog, on the role thread for each heal running: one whose counters stopped growing
  // is reported and interrupted (under mutex_).
  void CheckProgress(Heal& heal, Clock::time_point now);
  void HealBrick(const std::shared_ptr<Heal>& heal);
  // With the volume's changes held: the last pass, then the brick joins the in-sync set.
  Status FinishHeal(Heal& heal, TreeSync& sync, net::ClientTransport& target);
  // Tells every heal to stop; `join`: and waits for their threads (not under mutex_).
  void StopHeals(bool join);
  // Records the nodes a change touched in every heal running and in missed_ (under mutex_, in the
  // volume's order).
  void NoteDirty(uint64_t lsn, const proto::ReplicateRequest& forward);
  // If this server's etcd member leads the cluster, hands the leadership to another member.
  void MoveEtcdLeaderAway(coord::EtcdClient& etcd, const std::set<std::string>& to);
  void Observe(const ReplicaSetEntry& entry);
  // Removes `bricks` from the in-sync set (the primary, under role_mutex_ held by the caller),
  // and returns once none of them can still hold a read lease.
  Status RemoveFromInSync(std::map<uint32_t, std::string> bricks);
  // The primary, on the role thread: offers each in-sync backup a read lease, granting its last
  // answered offer (read_lease.cc).
  void RenewReadLeases();
  // A backup leaving the in-sync set, and when the last read lease granted it surely ends.
  struct LeaseHolder {
    uint32_t brick = 0;
    std::string server;
    bool connection_lost = false;  // the primary's connection to it
    Clock::time_point ends{};
  };
  // The primary: grants `bricks` nothing more; the leases they may still hold (with mutex_ held).
  std::vector<LeaseHolder> RevokeReadLeasesLocked(const std::vector<uint32_t>& bricks);
  // The longest a read lease lasts, and the margin a primary waits beyond it.
  Clock::duration ReadLeaseWithMargin() const;
  // Returns once none of `holders` can still serve a read: sleeps until their leases end, except
  // for one whose connection was lost and whose server no longer listens (its process is gone,
  // or it stopped its roles first), saying so in the log (not under mutex_). `meanwhile`, if
  // given, runs every 100 ms; when it returns false the wait ends (the role was lost).
  void AwaitReadLeasesEnd(const std::vector<LeaseHolder>& holders, std::string_view why,
                          const std::function<bool()>& meanwhile = {});
  // Whether nothing listens at `server` (connection refused): its process is gone, not merely
  // slow or frozen, whose kernel would still accept the connection.
  static bool NothingListens(const std::string& server);
  // A connection of the primary of `epoch`: forwarding changes (this brick `wanted` kBackup) or
  // healing it (kOutOfSync); refused unless that primary holds the role for the record's epoch.
  Status AdmitPrimary(uint64_t epoch, State wanted, std::string_view what);
  Status CheckLease() const;  // with mutex_ held
  // CheckLease, after waiting (bounded) for a primary past its lease to renew it; `lock` holds mutex_.
  Status AwaitLease(std::unique_lock<std::mutex>& lock);
  proto::Volume Current() const;
  // Brick `brick` as the volume's record says now (replace-brick moves a brick), with mutex_ held
  // or not.
  proto::BrickRef BrickOfLocked(uint32_t brick) const { return current_.bricks(brick); }
  proto::BrickRef BrickOf(uint32_t brick) const;
  // The primary: adopts a change of the replica set it did not make (replace-brick took a brick
  // out of the in-sync set), read every second.
  void FollowRecord(coord::EtcdClient& etcd);
  uint32_t MinInSyncLocked() const { return MinInSync(current_); }
  Result<std::unique_ptr<net::ClientTransport>> ConnectBackup(uint32_t brick, uint64_t epoch,
                                                              proto::HelloRole role = proto::ROLE_REPLICATION);

  const ReplicaRoleOptions options_;
  const proto::Volume volume_;  // name, id, witness and the number of bricks, which never change; the rest: current_
  const uint32_t brick_;
  ServedVolume& served_;
  const std::function<std::shared_ptr<coord::EtcdClient>()> etcd_;
  ReplyCache replies_;

  std::timed_mutex order_mutex_;  // held from a change's local apply until it is sent to every backup
  std::mutex role_mutex_;   // one change of role or in-sync set at a time
  mutable std::mutex mutex_;  // guards everything below
  State state_ = State::kStarting;
  proto::Volume current_;  // the volume's record as last read
  ReplicaSetEntry entry_;
  int64_t lease_ = 0;
  Clock::time_point lease_valid_until_{};
  Clock::time_point lock_grace_until_{};  // MayGrantLock
  Clock::time_point next_keep_alive_{};
  std::map<uint32_t, std::shared_ptr<Backup>> backups_;  // the primary's connections, by brick
  proto::LogPosition applied_;  // the last change applied here (as backup or primary)
  struct LogEntry {
    proto::ReplicateRequest forward;
    net::Bulk trailer;
    uint32_t status = 0;
  };
  std::deque<LogEntry> log_;  // the last changes applied as a backup, oldest first
  // Backup side: the read lease of the primary of read_lease_epoch_ (TakeReadLease), and when
  // its last offer arrived.
  uint64_t read_lease_epoch_ = 0;
  uint64_t read_lease_offer_ = 0;
  Clock::time_point read_lease_offered_at_{};
  Clock::time_point read_lease_until_{};
  size_t log_bytes_ = 0;
  std::map<uint32_t, std::shared_ptr<Heal>> heals_;  // the primary's, by brick
  MissedRecord missed_;  // the primary's: what the bricks that left the in-sync set under it missed
  int healers_ = 0;  // heal connections to this brick (it shows as "healing")
  std::optional<Clock::time_point> vacant_since_;  // role thread only: when no one held the role
  Clock::time_point next_follow_{};  // role thread only: when the primary next reads the record
  std::atomic<bool> primary_lost_{false};
  int changes_in_flight_ = 0;   // begun and not yet answered
  bool resigning_ = false;      // a planned stop: no change begins
  std::condition_variable changes_done_;
  std::condition_variable lease_renewed_;  // the primary's lease was renewed, or it is primary no more
  std::condition_variable in_sync_grew_;   // a healed brick joined the in-sync set
  uint64_t lsn_ = 0;            // the primary's last assigned
  std::vector<uint64_t> released_;  // handles closed here and not yet on the backups; guarded by mutex_
  std::mutex late_mutex_;
  std::vector<std::weak_ptr<Change::FanOut>> awaited_;  // FinishAsync's, for GiveUpLate; guarded by late_mutex_

  std::mutex stop_mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;  // guarded by stop_mutex_
  std::thread thread_;
  std::thread leader_mover_;  // MoveEtcdLeaderAway, after taking the role
};

}  // namespace shoal::server
