#include "server/replica_role.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <future>
#include <ranges>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/host_port.h"
#include "net/admin_call.h"
#include "proto/messages.h"
#include "server/volume_registry.h"

namespace shoal::server {
namespace {

constexpr uint32_t kProtocolVersion = 1;
// How long a planned stop waits for the changes in flight before handing the role over.
constexpr auto kResignWait = std::chrono::seconds(2);
// How long a new primary tries to reach each backup: well within its first lease.
constexpr int kConnectBackupMs = 300;
// The changes a backup keeps to send to another backup that missed them when the primary died.
constexpr size_t kLogEntriesMax = 4096;
constexpr size_t kLogBytesMax = 64u << 20;
// How long a candidate asks the other in-sync bricks how far they got, and how long it lets one
// that got further take the role before it takes it itself.
constexpr int kAskPositionMs = 200;
constexpr auto kDeferMax = std::chrono::milliseconds(500);
// How often the primary asks etcd again to take a brick out of the in-sync set when it gets no
// answer (each try waits up to the etcd client's timeout) before the change fails.
constexpr int kUnansweredRetries = 3;
// How long a change waits for a primary past its lease to renew it (etcd electing a new leader)
// before it is refused with NotPrimary; and how long past its lease a primary keeps the role.
constexpr auto kLeaseWait = std::chrono::seconds(2);
constexpr auto kFencedMax = std::chrono::seconds(3);
// How long a change waits for enough bricks in sync before it is refused: a brick about to rejoin
// (a heal finishing, as right after a failover that set the old primary's brick apart) is then a
// short stall for the client, not an error.
constexpr auto kInSyncWait = std::chrono::seconds(3);
// How long after taking the role from another primary only reclaimed locks are granted: clients
// notice a failover within about 1 s and take their locks again at once.
constexpr auto kLockGrace = std::chrono::seconds(3);
// How often the primary reads the replica set's record for changes it did not make (replace-brick).
constexpr auto kFollowInterval = std::chrono::seconds(1);
// How long a new primary waits for a backup whose server answers but does not serve it yet.
constexpr auto kStartingBackupWait = std::chrono::seconds(3);

std::vector<uint32_t> Without(const proto::ReplicaSet& set, const std::map<uint32_t, std::string>& gone) {
  std::vector<uint32_t> in_sync;
  for (uint32_t brick : set.in_sync())
    if (!gone.contains(brick)) in_sync.push_back(brick);
  return in_sync;
}

std::string Position(const proto::LogPosition& p) { return fmt::format("{}.{}", p.epoch(), p.lsn()); }

}  // namespace

struct ReplicaRole::Change::FanOut {
  std::mutex mutex;
  std::condition_variable done;
  size_t outstanding = 0;                      // guarded by mutex
  std::map<uint32_t, std::string> failed;      // by brick, why; guarded by mutex
  std::map<uint32_t, bool> answered;           // guarded by mutex
  std::vector<uint32_t> sent;                  // the bricks it was sent to
  Clock::time_point deadline;
  std::function<void()> then;                  // FinishAsync's, run once (by the last answer or GiveUpLate)

  // The bricks that failed the change, and those that did not answer in time (guarded by mutex).
  std::map<uint32_t, std::string> FailedLocked(int deadline_ms) const {
    std::map<uint32_t, std::string> all = failed;
    for (uint32_t brick : sent)
      if (!answered.contains(brick) && !all.contains(brick))
        all[brick] = fmt::format("it did not apply a change within {} ms", deadline_ms);
    return all;
  }
};

ReplicaRole::ReplicaRole(ReplicaRoleOptions options, proto::Volume volume, uint32_t brick, ServedVolume& served,
                         std::function<std::shared_ptr<coord::EtcdClient>()> etcd)
    : options_(std::move(options)), volume_(volume), brick_(brick), served_(served), etcd_(std::move(etcd)) {
  current_ = std::move(volume);
  thread_ = std::thread([this] { Run(); });
}

ReplicaRole::~ReplicaRole() { Stop(); }

void ReplicaRole::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  {
    std::lock_guard lock(mutex_);
    resigning_ = true;
  }
  stop_requested_.notify_all();
  thread_.join();
  if (leader_mover_.joinable()) leader_mover_.join();
  StopHeals(/*join=*/true);
  // A planned stop: no change begins, those begun are answered, then the role is handed over
  // so that another in-sync brick takes it on its next poll.
  std::unique_lock lock(mutex_);
  changes_done_.wait_for(lock, kResignWait, [this] { return changes_in_flight_ == 0; });
  const bool primary = state_ == State::kPrimary;
  state_ = State::kStarting;
  if (!primary) return;
  const ReplicaSetEntry entry = entry_;
  const int64_t lease = lease_;
  auto backups = std::move(backups_);
  lock.unlock();
  auto etcd = etcd_();
  if (!etcd) return;
  Status resigned = ResignPrimary(*etcd, Current(), entry, lease);
  (void)etcd->RevokeLease(lease);
  spdlog::info("replica.resigned volume={} brick={} epoch={} status=\"{}\"", volume_.name(), brick_, entry.set.epoch(),
               resigned.ToString());
}

bool ReplicaRole::NothingListens(const std::string& server) {
  auto address = ParseHostPort(server);
  if (!address.ok()) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address->host.c_str(), std::to_string(address->port).c_str(), &hints, &found) != 0) return false;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, ::freeaddrinfo);
  UniqueFd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  if (::connect(fd.get(), found->ai_addr, found->ai_addrlen) == 0) return false;
  if (errno == ECONNREFUSED) return true;
  if (errno != EINPROGRESS) return false;
  pollfd wait{.fd = fd.get(), .events = POLLOUT, .revents = 0};
  if (::poll(&wait, 1, 200) != 1) return false;
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error == ECONNREFUSED;
}

void ReplicaRole::UpdateVolume(const proto::Volume& volume) {
  std::lock_guard lock(mutex_);
  current_ = volume;
}

proto::Volume ReplicaRole::Current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

proto::BrickRef ReplicaRole::BrickOf(uint32_t brick) const {
  std::lock_guard lock(mutex_);
  return current_.bricks(brick);
}

void ReplicaRole::FollowRecord(coord::EtcdClient& etcd) {
  auto fresh = ReadReplicaSet(etcd, volume_);
  if (!fresh.ok()) return;
  // Only a newer record: one of this primary's own changes may have landed since it was read.
  auto newer = [&] {
    return state_ == State::kPrimary && fresh->primary_lease == lease_ && fresh->mod_revision > entry_.mod_revision;
  };
  // The bricks it took out go on receiving changes until their read leases have ended.
  std::vector<LeaseHolder> holders;
  {
    std::lock_guard lock(mutex_);
    if (!newer()) return;
    std::vector<uint32_t> leaving;
    for (const auto& [brick, backup] : backups_)
      if (!InSync(fresh->set, brick)) leaving.push_back(brick);
    holders = RevokeReadLeasesLocked(leaving);
  }
  // On the role thread: the lease and the other backups' read leases are renewed meanwhile.
  AwaitReadLeasesEnd(holders, "the replica set's record took bricks out of the in-sync set", [&] {
    if (!KeepLease(etcd)) return false;
    RenewReadLeases();
    return true;
  });
  std::vector<std::shared_ptr<Backup>> dropped;
  {
    std::lock_guard lock(mutex_);
    if (!newer()) return;
    spdlog::warn("replica.record_changed volume={} epoch={} in_sync=[{}]", volume_.name(), fresh->set.epoch(),
                 fmt::join(fresh->set.in_sync(), ","));
    entry_.set = fresh->set;
    entry_.mod_revision = fresh->mod_revision;
    for (auto it = backups_.begin(); it != backups_.end();) {
      if (InSync(entry_.set, it->first)) {
        ++it;
      } else {
        dropped.push_back(it->second);
        it = backups_.erase(it);
      }
    }
  }
}

ReplicaRole::State ReplicaRole::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string ReplicaRole::StateName() const {
  std::lock_guard lock(mutex_);
  return StateNameLocked();
}

std::string ReplicaRole::StateNameLocked() const {
  switch (state_) {
    case State::kPrimary: return "primary";
    case State::kBackup: return "in-sync";
    case State::kOutOfSync: return healers_ > 0 ? "healing" : "out-of-sync";
    case State::kStarting: break;
  }
  return "starting";
}

proto::ReplicaSet ReplicaRole::replica_set() const {
  std::lock_guard lock(mutex_);
  return entry_.set;
}

proto::LogPosition ReplicaRole::applied() const {
  std::lock_guard lock(mutex_);
  return applied_;
}

Status ReplicaRole::CheckLease() const {
  if (state_ != State::kPrimary)
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} is not its primary", brick_, volume_.name()));
  if (Clock::now() >= lease_valid_until_)
    return Status(Code::kNotPrimary,
                  fmt::format("brick {} of volume {} could not renew its primary lease in time", brick_, volume_.name()));
  return Status::Ok();
}

Status ReplicaRole::MayGrantLock() const {
  std::lock_guard lock(mutex_);
  if (Clock::now() < lock_grace_until_)
    return Status(Code::kBusy, fmt::format("volume {} has a new primary: locks held before are being taken again",
                                           volume_.name()));
  return Status::Ok();
}

Status ReplicaRole::MayServeRead() const {
  std::lock_guard lock(mutex_);
  return CheckLease();
}

Status ReplicaRole::AdmitClient(proto::HelloRole role) const {
  std::lock_guard lock(mutex_);
  if (role == proto::ROLE_PRIMARY) {
    Status primary = CheckLease();
    if (primary.ok()) return primary;
    const int32_t p = entry_.set.primary();
    return Status(Code::kNotPrimary,
                  entry_.primary_lease != 0 && p >= 0 && p < volume_.bricks_size()
                      ? fmt::format("{}; the primary is on {}", primary.message(), BrickOfLocked(p).server())
                      : fmt::format("{}; no brick holds the role now", primary.message()));
  }
  // Reads spread over the bricks: any in-sync brick takes the connection, and answers each read
  // only while it holds a read lease (MayServeSpreadRead).
  if (role == proto::ROLE_READ && (state_ == State::kBackup || state_ == State::kPrimary)) return Status::Ok();
  return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} is {}: it serves no reads", brick_,
                                               volume_.name(), StateNameLocked()));
}

Status ReplicaRole::AdmitReplication(uint64_t epoch) { return AdmitPrimary(epoch, State::kBackup, "changes"); }

Status ReplicaRole::AdmitPrimary(uint64_t epoch, State wanted, std::string_view what) {
  // What the brick knows may be a poll behind the primary that just took the role: ask etcd.
  if (auto etcd = etcd_()) {
    auto entry = ReadReplicaSet(*etcd, volume_);
    if (entry.ok()) Observe(*entry);
  }
  std::lock_guard lock(mutex_);
  const proto::ReplicaSet& set = entry_.set;
  if (resigning_)
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} is stopping", brick_, volume_.name()));
  const bool held = wanted != State::kOutOfSync || entry_.primary_lease != 0;
  if (state_ != wanted || !held || epoch < set.primary_since() || epoch > set.epoch() ||
      set.primary() == int32_t(brick_))
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} takes no {} from a primary of epoch {} "
                                                 "(it is {}; the replica set is at epoch {}, its primary since {})",
                                                 brick_, volume_.name(), what, epoch, StateNameLocked(), set.epoch(),
                                                 set.primary_since()));
  if (wanted == State::kOutOfSync) ++healers_;
  if (wanted == State::kBackup && epoch != read_lease_epoch_) {
    // A new primary: what the last one granted ends now.
    read_lease_epoch_ = epoch;
    read_lease_offer_ = 0;
    read_lease_until_ = {};
  }
  return Status::Ok();
}

Status ReplicaRole::CheckForwarded(uint64_t epoch, const proto::LogPosition& position) const {
  std::lock_guard lock(mutex_);
  if (state_ != State::kBackup || epoch < entry_.set.primary_since())
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} no longer takes changes from the primary of "
                                                 "epoch {}",
                                                 brick_, volume_.name(), epoch));
  const bool follows = position.epoch() == applied_.epoch() ? position.lsn() == applied_.lsn() + 1
                                                            : position.epoch() > applied_.epoch() && position.lsn() == 1;
  if (!follows)
    return Status(Code::kStale, fmt::format("brick {} of volume {} is at {}; change {} does not follow it", brick_,
                                            volume_.name(), Position(applied_), Position(position)));
  return Status::Ok();
}

void ReplicaRole::NoteApplied(const proto::ReplicateRequest& forward, const net::Bulk& trailer, uint32_t status) {
  std::lock_guard lock(mutex_);
  applied_ = forward.position();
  log_.push_back({.forward = forward, .trailer = trailer, .status = status});
  log_bytes_ += net::View(trailer).size();
  while (log_.size() > kLogEntriesMax || log_bytes_ > kLogBytesMax) {
    log_bytes_ -= net::View(log_.front().trailer).size();
    log_.pop_front();
  }
}

Status ReplicaRole::ShipTail(net::ClientTransport& backup, const proto::LogPosition& theirs,
                             const proto::LogPosition& mine) {
  if (theirs.epoch() != mine.epoch() || theirs.lsn() > mine.lsn())
    return Status(Code::kStale, fmt::format("it applied the last primary's changes up to {}, the new primary up to {}",
                                            Position(theirs), Position(mine)));
  std::vector<LogEntry> tail;
  {
    std::lock_guard lock(mutex_);
    for (const LogEntry& entry : log_)
      if (entry.forward.position().epoch() == mine.epoch() && entry.forward.position().lsn() > theirs.lsn())
        tail.push_back(entry);
  }
  if (tail.size() != mine.lsn() - theirs.lsn() ||
      (!tail.empty() && tail.front().forward.position().lsn() != theirs.lsn() + 1))
    return Status(Code::kStale, fmt::format("it is at {} and this brick's log no longer goes back that far",
                                            Position(theirs)));
  for (const LogEntry& entry : tail) {
    proto::Request request;
    *request.mutable_replicate() = entry.forward;
    request.mutable_replicate()->set_shipped(true);
    auto reply = backup.CallSync(std::move(request), entry.trailer, /*retry_safe=*/false);
    if (!reply.ok()) return reply.status();
    if (Status refused = proto::StatusOf(reply->response); !refused.ok()) return refused;
    if (reply->response.replicate().response().status() != entry.status)
      return Status(Code::kStale, fmt::format("change {} sent again had another result there",
                                              Position(entry.forward.position())));
  }
  spdlog::info("replica.tail_sent volume={} changes={} from={} to={}", volume_.name(), tail.size(), Position(theirs),
               Position(mine));
  return Status::Ok();
}

bool ReplicaRole::SomeoneAhead(const ReplicaSetEntry& entry) {
  const proto::LogPosition mine = applied();
  std::vector<std::pair<uint32_t, std::future<Result<proto::Response>>>> asked;
  for (uint32_t brick : entry.set.in_sync()) {
    // The last primary is not asked: it stopped renewing its lease and leaves the in-sync set.
    if (brick == brick_ || int32_t(brick) == entry.set.primary()) continue;
    const proto::BrickRef where = BrickOf(brick);
    auto address = ParseHostPort(where.server());
    if (!address.ok()) continue;
    proto::Request request;
    request.mutable_brick_status()->set_volume(volume_.name());
    request.mutable_brick_status()->set_path(where.path());
    asked.emplace_back(brick, std::async(std::launch::async, [address = *address, request, this] {
                         return net::AskAdmin({address}, request, options_.server_name, kAskPositionMs);
                       }));
  }
  bool ahead = false;
  for (auto& [brick, answer] : asked) {
    auto response = answer.get();
    if (!response.ok() || !response->brick_status().brick().has_applied()) continue;
    const auto& status = response->brick_status().brick();
    if (status.state() != "in-sync") continue;
    const proto::LogPosition& theirs = status.applied();
    if (std::pair(theirs.epoch(), theirs.lsn()) > std::pair(mine.epoch(), mine.lsn()) ||
        (SamePosition(theirs, mine) && brick < brick_))
      ahead = true;
  }
  return ahead;
}

Status ReplicaRole::AwaitLease(std::unique_lock<std::mutex>& lock) {
  lease_renewed_.wait_for(lock, kLeaseWait, [this] { return state_ != State::kPrimary || CheckLease().ok(); });
  return CheckLease();
}

Result<ReplicaRole::Change> ReplicaRole::TryBeginChange() {
  std::unique_lock order(order_mutex_, std::try_to_lock);
  if (!order.owns_lock()) return Status(Code::kBusy, "another change holds the volume's order");
  std::lock_guard lock(mutex_);
  if (resigning_ || !CheckLease().ok() || static_cast<uint32_t>(entry_.set.in_sync_size()) < MinInSyncLocked())
    return Status(Code::kBusy, "a change would have to wait");
  ++changes_in_flight_;
  return Change(*this, std::move(order));
}

Result<ReplicaRole::Change> ReplicaRole::BeginChange() {
  {
    // Not under order_mutex_: the heal's last pass needs it to let the brick join.
    std::unique_lock lock(mutex_);
    in_sync_grew_.wait_for(lock, kInSyncWait, [this] {
      return state_ != State::kPrimary || static_cast<uint32_t>(entry_.set.in_sync_size()) >= MinInSyncLocked();
    });
  }
  std::unique_lock order(order_mutex_);
  std::unique_lock lock(mutex_);
  SHOAL_RETURN_IF_ERROR(AwaitLease(lock));
  if (resigning_)
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} is handing its primary role over", brick_,
                                                 volume_.name()));
  if (static_cast<uint32_t>(entry_.set.in_sync_size()) < MinInSyncLocked())
    return Status(Code::kUnavailable,
                  fmt::format("volume {} has {} brick(s) in sync, fewer than min-in-sync {}: changes are refused until "
                              "enough bricks are back in sync (`shoal volume status {}`)",
                              volume_.name(), entry_.set.in_sync_size(), MinInSyncLocked(), volume_.name()));
  ++changes_in_flight_;
  return Change(*this, std::move(order));
}

void ReplicaRole::Released(uint64_t handle) {
  // Bounded: should the backups not be reached for long, their copies close with the primary's
  // connection to them (when it drops, or the role moves on).
  constexpr size_t kReleasedMax = 1 << 16;
  std::lock_guard lock(mutex_);
  if (state_ == State::kPrimary && released_.size() < kReleasedMax) released_.push_back(handle);
}

void ReplicaRole::ForwardReleased() {
  std::unique_lock order(order_mutex_, std::try_to_lock);
  if (!order.owns_lock()) return;  // a change is being forwarded: it takes them along
  {
    std::lock_guard lock(mutex_);
    if (released_.empty() || resigning_ || !CheckLease().ok() ||
        static_cast<uint32_t>(entry_.set.in_sync_size()) < MinInSyncLocked())
      return;
    ++changes_in_flight_;
  }
  // Nothing else in it, and nobody waits for it: should a backup not apply it, the next change
  // that is waited for finds out (a backup applies changes in order).
  Change(*this, std::move(order)).Forward(proto::ReplicateRequest(), nullptr, proto::Response());
}

ReplicaRole::Change::~Change() {
  if (role_ == nullptr) return;
  if (order_.owns_lock()) order_.unlock();
  std::lock_guard lock(role_->mutex_);
  if (--role_->changes_in_flight_ == 0) role_->changes_done_.notify_all();
}

void ReplicaRole::Change::Forward(proto::ReplicateRequest forward, const net::Bulk& trailer,
                                  const proto::Response& local) {
  std::vector<std::shared_ptr<Backup>> backups;
  {
    std::lock_guard lock(role_->mutex_);
    role_->applied_.set_epoch(role_->entry_.set.primary_since());
    role_->applied_.set_lsn(++role_->lsn_);
    *forward.mutable_position() = role_->applied_;
    forward.mutable_released()->Add(role_->released_.begin(), role_->released_.end());
    role_->released_.clear();
    role_->NoteDirty(role_->lsn_, forward);
    for (auto& [brick, backup] : role_->backups_) {
      backups.push_back(backup);
      // Under mutex_, with the number: a brick taken out of the in-sync set meanwhile (another
      // change's Finish) must count this change among those it may have missed.
      std::lock_guard unconfirmed(backup->unconfirmed->mutex);
      backup->unconfirmed->lsns.insert(role_->lsn_);
    }
  }
  const uint64_t lsn = forward.position().lsn();
  fan_out_ = std::make_shared<FanOut>();
  for (const auto& backup : backups) fan_out_->sent.push_back(backup->brick);
  fan_out_->deadline = Clock::now() + std::chrono::milliseconds(role_->options_.change_deadline_ms);
  fan_out_->outstanding = backups.size();
  const uint32_t expected = local.status();
  proto::Request request;
  *request.mutable_replicate() = std::move(forward);
  for (const auto& backup : backups) {
    if (backup->transport->generation() != backup->generation) {
      std::lock_guard lock(fan_out_->mutex);
      fan_out_->failed[backup->brick] = "its connection was lost and made again: it may have missed changes";
      --fan_out_->outstanding;
      continue;
    }
    backup->transport->Call(request, trailer, /*retry_safe=*/false,
                            [fan_out = fan_out_, brick = backup->brick, expected, lsn,
                             unconfirmed = backup->unconfirmed](Result<net::Reply> reply) {
                              std::string failure;
                              if (!reply.ok()) {
                                failure = reply.status().ToString();
                              } else if (Status refused = proto::StatusOf(reply->response); !refused.ok()) {
                                failure = refused.ToString();
                              } else if (const auto& applied = reply->response.replicate().response();
                                         applied.status() != expected) {
                                failure = fmt::format("it answered \"{}\" where the primary had status {}",
                                                      proto::StatusOf(applied).ToString(), expected);
                              }
                              if (failure.empty()) {
                                std::lock_guard lock(unconfirmed->mutex);
                                unconfirmed->lsns.erase(lsn);
                              }
                              std::function<void()> then;
                              {
                                std::lock_guard lock(fan_out->mutex);
                                if (!failure.empty()) fan_out->failed[brick] = failure;
                                fan_out->answered[brick] = true;
                                if (--fan_out->outstanding == 0) {
                                  fan_out->done.notify_all();
                                  then = std::exchange(fan_out->then, nullptr);
                                }
                              }
                              if (then) then();
                            });
  }
  order_.unlock();
}

Status ReplicaRole::Change::Finish() {
  if (order_.owns_lock()) order_.unlock();  // nothing was forwarded (the change failed here)
  std::map<uint32_t, std::string> failed;
  if (fan_out_) {
    std::unique_lock lock(fan_out_->mutex);
    fan_out_->done.wait_until(lock, fan_out_->deadline, [&] { return fan_out_->outstanding == 0; });
    failed = fan_out_->FailedLocked(role_->options_.change_deadline_ms);
  }
  return role_->Conclude(std::move(failed));
}

void ReplicaRole::Change::FinishAsync(net::WorkerPool& workers, std::function<void(Status)> done) && {
  auto change = std::make_shared<Change>(std::move(*this));
  ReplicaRole& role = *change->role_;
  std::shared_ptr<FanOut> fan_out = change->fan_out_;
  // Holds the change (and so the volume's count of changes in flight) until `done` has run.
  auto conclude = [change, &role, &workers, done = std::move(done)]() mutable {
    std::map<uint32_t, std::string> failed;
    {
      std::lock_guard lock(change->fan_out_->mutex);
      failed = change->fan_out_->FailedLocked(role.options_.change_deadline_ms);
    }
    if (failed.empty()) {
      std::unique_lock lock(role.mutex_);
      const bool holds = role.CheckLease().ok() &&
                         static_cast<uint32_t>(role.entry_.set.in_sync_size()) >= role.MinInSyncLocked();
      lock.unlock();
      if (holds) {
        done(Status::Ok());
        return;
      }
    }
    workers.Post([change = std::move(change), &role, failed = std::move(failed), done = std::move(done)]() mutable {
      done(role.Conclude(std::move(failed)));
    });
  };
  bool waiting = false;
  {
    std::lock_guard lock(fan_out->mutex);
    waiting = fan_out->outstanding > 0;
    if (waiting) fan_out->then = std::move(conclude);
  }
  if (!waiting) return conclude();
  std::lock_guard late(role.late_mutex_);  // not under fan_out->mutex: GiveUpLate takes them the other way
  role.awaited_.push_back(std::move(fan_out));
}

Status ReplicaRole::Conclude(std::map<uint32_t, std::string> failed) {
  if (!failed.empty()) {
    std::lock_guard role_lock(role_mutex_);
    SHOAL_RETURN_IF_ERROR(RemoveFromInSync(std::move(failed)));
  }
  // Applied everywhere, but acknowledged only while the lease surely holds: no other brick can
  // have taken the role meanwhile. A primary that lost it says so, and the client asks the next.
  std::unique_lock lock(mutex_);
  SHOAL_RETURN_IF_ERROR(AwaitLease(lock));
  if (static_cast<uint32_t>(entry_.set.in_sync_size()) < MinInSyncLocked())
    return Status(Code::kUnavailable,
                  fmt::format("volume {}: only {} brick(s) applied the change, fewer than min-in-sync {}",
                              volume_.name(), entry_.set.in_sync_size(), MinInSyncLocked()));
  return Status::Ok();
}

void ReplicaRole::GiveUpLate() {
  std::vector<std::function<void()>> late;
  {
    std::lock_guard lock(late_mutex_);
    const auto now = Clock::now();
    std::erase_if(awaited_, [&](const std::weak_ptr<Change::FanOut>& weak) {
      auto fan_out = weak.lock();
      if (!fan_out) return true;
      std::lock_guard fan_out_lock(fan_out->mutex);
      if (!fan_out->then) return true;  // concluded by its last answer
      if (now < fan_out->deadline) return false;
      late.push_back(std::exchange(fan_out->then, nullptr));
      return true;
    });
  }
  for (auto& conclude : late) conclude();  // the bricks that did not answer count as failed
}

Status ReplicaRole::RemoveFromInSync(std::map<uint32_t, std::string> bricks) {
  auto etcd = etcd_();
  std::vector<LeaseHolder> holders;
  for (int attempt = 0;; ++attempt) {
    ReplicaSetEntry entry;
    int64_t lease;
    {
      std::lock_guard lock(mutex_);
      std::erase_if(bricks, [&](const auto& b) { return !InSync(entry_.set, b.first); });
      if (bricks.empty()) return Status::Ok();
      entry = entry_;
      lease = lease_;
      // Granted nothing more from here: the change that waits on this is acknowledged only after
      // the last lease they hold has ended.
      std::vector<uint32_t> leaving;
      for (const auto& [brick, why] : bricks) leaving.push_back(brick);
      for (LeaseHolder& holder : RevokeReadLeasesLocked(leaving)) holders.push_back(std::move(holder));
    }
    if (!etcd) return Status(Code::kUnavailable, "no etcd client");
    auto changed = SetInSync(*etcd, Current(), entry, Without(entry.set, bricks), lease);
    // No answer: a proposal forwarded to an etcd leader that just died is lost, and the members
    // elect another within about a second; asking again is safe (compare-and-swap).
    if (changed.status().code() == Code::kUnavailable && attempt < kUnansweredRetries) continue;
    if (changed.status().code() == Code::kBusy && attempt < kUnansweredRetries) {
      auto fresh = ReadReplicaSet(*etcd, volume_);
      if (!fresh.ok()) return fresh.status();
      std::lock_guard lock(mutex_);
      entry_.set = fresh->set;
      entry_.mod_revision = fresh->mod_revision;
      continue;
    }
    if (!changed.ok()) {
      spdlog::error("replica.cannot_remove volume={} bricks={} error=\"{}\"", volume_.name(),
                    fmt::join(std::views::keys(bricks), ","), changed.status().ToString());
      return Status(Code::kUnavailable,
                    fmt::format("volume {}: a brick missed a change and could not be taken out of the in-sync set "
                                "({}): the change is not acknowledged",
                                volume_.name(), changed.status().message()));
    }
    std::vector<std::shared_ptr<Backup>> dropped;
    {
      std::lock_guard lock(mutex_);
      entry_ = *changed;
      for (const auto& [brick, why] : bricks) {
        missed_.Forget(brick);
        if (auto it = backups_.find(brick); it != backups_.end()) {
          // It applied, in order, every change before the oldest it did not confirm.
          uint64_t first_missed = lsn_ + 1;
          {
            std::lock_guard unconfirmed(it->second->unconfirmed->mutex);
            if (!it->second->unconfirmed->lsns.empty()) first_missed = *it->second->unconfirmed->lsns.begin();
          }
          const proto::BrickRef ref = BrickOfLocked(brick);
          missed_.Depart(brick, ref.server() + ":" + ref.path(), first_missed);
          dropped.push_back(it->second);
          backups_.erase(it);
        }
        spdlog::warn("replica.out_of_sync volume={} brick={} server={} epoch={} reason=\"{}\"", volume_.name(), brick,
                     BrickOfLocked(brick).server(), entry_.set.epoch(), why);
      }
    }
    AwaitReadLeasesEnd(holders, "bricks left the in-sync set");
    return Status::Ok();  // `dropped` closes their connections here, outside the lock
  }
}

void ReplicaRole::Run() {
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    stop_requested_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
  }
}

Status ReplicaRole::RenewLease(coord::EtcdClient& etcd) {
  const auto asked = Clock::now();
  int64_t lease;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
  }
  // Each member gets a third of the lease: one cut off from the network (whose requests hang
  // rather than fail) leaves time to renew through another.
  auto renewed = etcd.KeepAlive(lease, options_.lease_ttl_s * 1000 / 3);
  if (!renewed.ok()) return renewed.status();
  std::lock_guard lock(mutex_);
  if (renewed->ttl_s <= 0 || lease != lease_) return Status(Code::kNotFound, "the primary's lease has expired");
  if (asked >= lease_valid_until_)
    spdlog::warn("replica.lease_renewed volume={} brick={} late_ms={}", volume_.name(), brick_,
                 std::chrono::duration_cast<std::chrono::milliseconds>(asked - lease_valid_until_).count());
  lease_valid_until_ = asked + std::chrono::seconds(renewed->ttl_s);
  next_keep_alive_ = asked + std::chrono::milliseconds(renewed->ttl_s * 1000 / 3);
  lease_renewed_.notify_all();
  return Status::Ok();
}

bool ReplicaRole::KeepLease(coord::EtcdClient& etcd) {
  bool due;
  {
    std::lock_guard lock(mutex_);
    due = Clock::now() >= next_keep_alive_;
  }
  if (due && RenewLease(etcd).code() == Code::kNotFound) {
    Demote("its lease has expired");
    return false;
  }
  // Past its lease the primary acknowledges nothing (CheckLease), but keeps the role while etcd
  // may still renew the lease: when etcd's leader dies, the members elect another within about
  // a second and extend every lease, and the primary goes on without a failover.
  Clock::time_point valid_until;
  {
    std::lock_guard lock(mutex_);
    valid_until = lease_valid_until_;
  }
  if (Clock::now() >= valid_until + kFencedMax) {
    Demote("it could not renew its lease in time");
    return false;
  }
  return true;
}

void ReplicaRole::Tick() {
  GiveUpLate();
  auto etcd = etcd_();
  if (!etcd) return;
  if (state() == State::kPrimary) {
    if (!KeepLease(*etcd)) return;
    if (Clock::now() >= next_follow_) {
      next_follow_ = Clock::now() + kFollowInterval;
      FollowRecord(*etcd);
    }
    RenewReadLeases();
    StartHeals();
    ForwardReleased();
    return;
  }
  auto entry = ReadReplicaSet(*etcd, volume_);
  if (!entry.ok()) return;
  Observe(*entry);
  const int32_t primary = entry->set.primary();
  if (primary_lost_.exchange(false) && entry->primary_lease != 0 && primary >= 0 && primary != int32_t(brick_) &&
      primary < volume_.bricks_size() && NothingListens(BrickOf(primary).server())) {
    // Killed, not frozen: its lease would only delay the failover. A refused connection means
    // its shoald no longer listens, which happens only once its process is gone or its roles
    // were handed over (main.cc stops the roles before it closes the listener), so no primary
    // can still be acknowledging under the revoked lease.
    spdlog::warn("replica.primary_gone volume={} brick={} server={}: its lease is revoked", volume_.name(), primary,
                 BrickOf(primary).server());
    (void)etcd->RevokeLease(entry->primary_lease);
    entry = ReadReplicaSet(*etcd, volume_);
    if (!entry.ok()) return;
  }
  const bool eligible = volume_.bricks_size() != 2 || !volume_.witness().empty() || brick_ == 0;
  if (entry->primary_lease != 0 || !InSync(entry->set, brick_) || !eligible) {
    vacant_since_.reset();
    return;
  }
  // The brick that applied most of the last primary's changes takes the role, so that it can
  // send the others what they missed; one that does not come forward soon is not waited for.
  const auto now = Clock::now();
  if (!vacant_since_) vacant_since_ = now;
  if (now - *vacant_since_ < kDeferMax && SomeoneAhead(*entry)) return;
  Campaign(*etcd, *entry);
}

void ReplicaRole::Observe(const ReplicaSetEntry& entry) {
  std::unique_lock lock(mutex_);
  if (state_ == State::kPrimary) {
    // Only the primary changes the record while it holds the role; another primary means ours is over.
    if (entry.primary_lease != 0 && entry.primary_lease != lease_) {
      lock.unlock();
      Demote("another brick holds the primary role");
    }
    return;
  }
  const State before = state_;
  entry_ = entry;
  state_ = InSync(entry.set, brick_) ? State::kBackup : State::kOutOfSync;
  if (state_ != State::kBackup) read_lease_until_ = {};
  if (before != state_)
    spdlog::info("replica.state volume={} brick={} state={} epoch={}", volume_.name(), brick_, StateNameLocked(),
                 entry.set.epoch());
  if (before == State::kBackup && state_ == State::kOutOfSync) {
    lock.unlock();
    served_.DisconnectClients(fmt::format("brick {} of volume {} is out of sync", brick_, volume_.name()));
  }
}

void ReplicaRole::Campaign(coord::EtcdClient& etcd, const ReplicaSetEntry& entry) {
  std::lock_guard role_lock(role_mutex_);
  const auto asked = Clock::now();
  auto lease = etcd.GrantLease(options_.lease_ttl_s);
  if (!lease.ok()) return;
  // The last primary, if it did not hand the role over, may have applied a change no other
  // brick has: it leaves the in-sync set until a heal has compared it.
  std::map<uint32_t, std::string> gone;
  if (entry.set.primary() >= 0 && entry.set.primary() != int32_t(brick_))
    gone[entry.set.primary()] = "it was the primary when it stopped renewing its lease";
  auto taken = TakePrimary(etcd, Current(), entry, brick_, Without(entry.set, gone), lease->id);
  if (!taken.ok()) {
    (void)etcd.RevokeLease(lease->id);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    entry_ = *taken;
    lease_ = lease->id;
    lease_valid_until_ = asked + std::chrono::seconds(lease->ttl_s);
    next_keep_alive_ = asked + std::chrono::milliseconds(lease->ttl_s * 1000 / 3);
  }
  spdlog::warn("replica.primary volume={} brick={} epoch={} in_sync=[{}] previous={}", volume_.name(), brick_,
               taken->set.epoch(), fmt::join(taken->set.in_sync(), ","), entry.set.primary());
  if (!BecomePrimary(etcd, *taken)) {
    (void)etcd.RevokeLease(lease->id);
    std::lock_guard lock(mutex_);
    lease_ = 0;
    return;
  }
  if (taken->set.epoch() > 1) {  // not the volume's first primary: clients may hold locks
    std::lock_guard lock(mutex_);
    lock_grace_until_ = Clock::now() + kLockGrace;
  }
  // To the server of a backup that just answered (alive), and off the role thread: a transfer
  // can take a while, and the lease must be renewed meanwhile.
  std::set<std::string> alive;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [brick, backup] : backups_) alive.insert(BrickOfLocked(brick).server());
  }
  if (leader_mover_.joinable()) leader_mover_.join();
  leader_mover_ = std::thread([this, etcd = etcd_(), alive] {
    if (etcd) MoveEtcdLeaderAway(*etcd, alive);
  });
}

Result<std::unique_ptr<net::ClientTransport>> ReplicaRole::ConnectBackup(uint32_t brick, uint64_t epoch,
                                                                        proto::HelloRole role) {
  SHOAL_ASSIGN_OR_RETURN(HostPort address, ParseHostPort(BrickOf(brick).server()));
  proto::Request hello;
  auto* h = hello.mutable_hello();
  h->set_protocol_version(kProtocolVersion);
  h->set_volume(volume_.name());
  h->set_client_name(options_.server_name);
  h->set_role(role);
  h->set_epoch(epoch);
  const int silence = options_.backup_silence_ms;
  return net::ClientTransport::Connect({.servers = {address},
                                        .hello = std::move(hello),
                                        .connect_timeout_ms = kConnectBackupMs,
                                        .give_up_ms = silence,
                                        .ping_interval_ms = silence / 4,
                                        .silence_ms = silence});
}

bool ReplicaRole::BecomePrimary(coord::EtcdClient& etcd, ReplicaSetEntry entry) {
  const auto started = Clock::now();
  const proto::LogPosition mine = applied();
  // Waits a moment, renewing the lease meanwhile; false if it cannot be renewed.
  auto pause = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return RenewLease(etcd).ok();
  };
  std::map<uint32_t, std::shared_ptr<Backup>> backups;
  std::map<uint32_t, std::string> failed;
  std::vector<uint32_t> wanted;
  for (uint32_t brick : entry.set.in_sync())
    if (brick != brick_) wanted.push_back(brick);
  // A backup's server that answers but does not serve the brick yet (the volume was just
  // started, and its server has not read the record yet) is waited for, renewing the lease
  // meanwhile; one that does not answer is not: clients are waiting for the new primary.
  const auto patience = Clock::now() + kStartingBackupWait;
  while (!wanted.empty()) {
    std::vector<std::pair<uint32_t, std::future<Result<std::unique_ptr<net::ClientTransport>>>>> connecting;
    for (uint32_t brick : wanted)
      connecting.emplace_back(brick, std::async(std::launch::async, [this, brick, epoch = entry.set.epoch()] {
                                return ConnectBackup(brick, epoch);
                              }));
    wanted.clear();
    for (auto& [brick, future] : connecting) {
      auto transport = future.get();
      if (!transport.ok()) {
        const Code code = transport.status().code();
        if ((code == Code::kNoVolume || code == Code::kNotPrimary) && Clock::now() < patience) {
          wanted.push_back(brick);
        } else {
          failed[brick] = "it could not be reached: " + transport.status().ToString();
        }
        continue;
      }
      // Both followed the last primary: they must have applied exactly the same changes. One that
      // applied more or fewer (the last primary died while forwarding) is compared by a heal.
      const proto::LogPosition theirs = (*transport)->hello().applied();
      if (!SamePosition(theirs, mine)) {
        if (Status shipped = ShipTail(**transport, theirs, mine); !shipped.ok()) {
          failed[brick] = shipped.message();
          continue;
        }
      }
      auto backup = std::make_shared<Backup>();
      backup->brick = brick;
      backup->generation = (*transport)->generation();
      backup->transport = std::move(*transport);
      backups[brick] = std::move(backup);
    }
    if (wanted.empty()) break;
    if (!pause()) return false;
  }
  if (!failed.empty()) {
    // A backup it cannot reach may still hold a read lease from the last primary (one that handed
    // the role over rather than let its lease run out), and will miss what this one acknowledges.
    // Every such lease was granted before this brick took the role.
    spdlog::info("replica.read_lease_wait volume={} bricks=[{}]: unreachable backups may hold the last primary's "
                 "read leases", volume_.name(), fmt::join(std::views::keys(failed), ","));
    while (Clock::now() < started + ReadLeaseWithMargin())
      if (!pause()) return false;
  }
  {
    std::lock_guard lock(mutex_);
    backups_ = std::move(backups);
    state_ = State::kPrimary;
    lsn_ = 0;
    missed_.Clear();  // what the bricks out of sync missed under the last primary is not known here
  }
  if (!failed.empty() && !RemoveFromInSync(std::move(failed)).ok()) {
    Demote("it could not take unreachable backups out of the in-sync set");
    return false;
  }
  return true;
}

void ReplicaRole::MoveEtcdLeaderAway(coord::EtcdClient& etcd, const std::set<std::string>& to) {
  // When the primary's server dies, a surviving etcd leader lets its lease run out in 1 s; a
  // dead leader first needs an election, after which etcd extends every lease by its TTL again.
  auto members = etcd.MemberList();
  auto status = etcd.MemberStatus();
  if (!members.ok() || !status.ok() || members->size() < 2) return;
  const coord::Member* mine = nullptr;
  const coord::Member* other = nullptr;
  for (const coord::Member& member : *members) {
    if (member.name == options_.server_name) mine = &member;
    else if (!member.learner && to.contains(member.name) && other == nullptr) other = &member;
  }
  if (mine == nullptr || other == nullptr || status->leader != mine->id || mine->client_urls.empty()) return;
  auto local = ParseHostPort(std::string_view(mine->client_urls.front()).substr(std::string_view("http://").size()));
  if (!local.ok()) return;
  coord::EtcdClient leader({.endpoints = {*local}, .request_timeout_ms = 1000});
  Status moved = leader.MoveLeader(other->id);
  spdlog::info("replica.etcd_leader_moved volume={} to={} status=\"{}\"", volume_.name(), other->name, moved.ToString());
}

void ReplicaRole::Demote(const std::string& reason) {
  std::map<uint32_t, std::shared_ptr<Backup>> backups;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kPrimary) return;
    state_ = State::kStarting;  // the next poll says whether it is still in sync
    backups.swap(backups_);
    lease_ = 0;
    missed_.Clear();
  }
  lease_renewed_.notify_all();
  StopHeals(/*join=*/false);
  spdlog::warn("replica.demoted volume={} brick={} reason=\"{}\"", volume_.name(), brick_, reason);
  served_.DisconnectClients(fmt::format("brick {} of volume {} is no longer its primary: {}", brick_, volume_.name(), reason));
}

}  // namespace shoal::server
