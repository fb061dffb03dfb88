// ReplicaRole: heal (DESIGN.md §5 "Heal"). The primary brings each brick outside the in-sync set
// back as soon as its server answers: passes of TreeSync while clients go on writing, each over
// what the clients changed during the one before (the dirty nodes), until few are left; then a
// last pass with the volume's changes held, and the brick joins the in-sync set before they
// resume, so that it misses no change. The brick being healed serves nothing meanwhile.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "server/replica_role.h"
#include "common/volume_options.h"
#include "proto/messages.h"
#include "server/tree_sync.h"
#include "server/volume_registry.h"

namespace shoal::server {
namespace {

// How soon a heal that could not start or failed is tried again: a returning server is noticed
// within this (its refused connections cost nothing meanwhile).
constexpr auto kRetry = std::chrono::milliseconds(250);
// Passes while clients write go on until at most this many nodes changed during the last one...
constexpr size_t kDirtyForLastPass = 512;
// ...or this many passes ran; the last pass then holds the volume's changes for what is left.
constexpr uint32_t kPassesMax = 6;
// Connections that carry file data besides the one that carries the namespace.
constexpr int kDataLanes = 3;
// How long the last pass waits for the changes in flight to let the volume's order go.
constexpr auto kHoldWait = std::chrono::seconds(10);

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct ReplicaRole::Heal {
  explicit Heal(uint32_t b) : brick(b) {}
  const uint32_t brick;
  std::atomic<bool> stop{false};
  std::thread thread;
  // Guarded by the role's mutex_:
  bool running = false;
  uint64_t last_sum = 0;               // the pass's counters when they last grew
  Clock::time_point last_progress{};   // and when
  Clock::time_point next_try{};
  bool full = false;         // the next heal compares the whole tree and every file's content
  std::string last_failure;  // logged once, not every retry
  // Guarded by `mutex`:
  std::mutex mutex;
  bool tracking = false;  // a heal is running: changes record the nodes they touch
  std::unordered_set<uint64_t> dirty;
  proto::HealProgress progress;
  uint32_t restarts = 0;  // by the watchdog (CheckProgress)
  const TreeSync* sync = nullptr;  // the pass running, for its counters
  std::vector<net::ClientTransport*> targets;  // its connections to the brick, while it runs

  // The running pass's counters into `progress` (under `mutex`).
  void CopyCounters() {
    if (sync == nullptr) return;
    const TreeSync::Counters& c = sync->counters();
    progress.set_directories(c.directories);
    progress.set_entries(c.entries);
    progress.set_copied(c.copied);
    progress.set_removed(c.removed);
    progress.set_bytes(c.bytes);
    progress.set_file_bytes(c.file_bytes);
  }
  // The heal ended: its counters are kept, its pass forgotten (under `mutex`).
  void End() {
    CopyCounters();
    sync = nullptr;
    tracking = false;
    dirty.clear();
  }
  std::unordered_set<uint64_t> TakeDirty() {
    std::lock_guard lock(mutex);
    return std::exchange(dirty, {});
  }
};

void ReplicaRole::NoteDirty(uint64_t lsn, const proto::ReplicateRequest& forward) {
  missed_.Note(lsn, forward);
  for (auto& [brick, heal] : heals_) {
    std::lock_guard lock(heal->mutex);
    if (heal->tracking) AddTouched(forward, heal->dirty);
  }
}

void ReplicaRole::StartHeals() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kPrimary) return;
  const auto now = Clock::now();
  for (uint32_t brick = 0; brick < uint32_t(volume_.bricks_size()); ++brick) {
    if (brick == brick_ || InSync(entry_.set, brick)) continue;
    auto& heal = heals_[brick];
    if (!heal) heal = std::make_shared<Heal>(brick);
    if (heal->running) {
      CheckProgress(*heal, now);
      continue;
    }
    if (now < heal->next_try) continue;
    heal->last_sum = 0;
    heal->last_progress = now;
    if (heal->thread.joinable()) heal->thread.join();  // it has finished: running is unset last
    heal->running = true;
    heal->stop = false;
    heal->thread = std::thread([this, heal] {
      HealBrick(heal);
      std::lock_guard lock(mutex_);
      heal->running = false;
      heal->next_try = Clock::now() + kRetry;
    });
  }
}

// Under mutex_.
void ReplicaRole::CheckProgress(Heal& heal, Clock::time_point now) {
  const std::map<std::string, std::string> options(current_.options().begin(), current_.options().end());
  const auto stalled_max = std::chrono::seconds(std::stoull(VolumeOptionValue(options, "heal-stall-timeout")));
  std::lock_guard lock(heal.mutex);
  const uint64_t sum = heal.sync != nullptr ? heal.sync->counters().Sum() : 0;
  if (sum != heal.last_sum) {
    heal.last_sum = sum;
    heal.last_progress = now;
    return;
  }
  if (now - heal.last_progress < stalled_max || heal.targets.empty()) return;
  // A brick that answers pings but not the heal (a stuck disk): end this heal; the next one
  // starts afresh a second later.
  ++heal.restarts;
  spdlog::warn("heal.stalled volume={} brick={} seconds={} restarts={}: restarting it", volume_.name(), heal.brick,
               stalled_max.count(), heal.restarts);
  heal.progress.set_reason(fmt::format("it made no progress for {} s and was restarted", stalled_max.count()));
  heal.stop = true;
  for (net::ClientTransport* target : heal.targets) target->Disconnect("the heal made no progress");
  heal.last_progress = now;
}

void ReplicaRole::StopHeals(bool join) {
  std::vector<std::shared_ptr<Heal>> heals;
  {
    std::lock_guard lock(mutex_);
    for (auto& [brick, heal] : heals_) {
      heal->stop = true;
      heals.push_back(heal);
    }
    if (join) heals_.clear();
  }
  if (!join) return;
  for (auto& heal : heals)
    if (heal->thread.joinable()) heal->thread.join();
}

void ReplicaRole::HealBrick(const std::shared_ptr<Heal>& heal) {
  uint64_t epoch;
  bool full = false;  // read once connected: `heal full` asked while this heal was connecting counts
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kPrimary) return;
    epoch = entry_.set.epoch();
  }
  const std::string server = BrickOf(heal->brick).server();
  auto fail = [&](const std::string& state, const std::string& reason) {
    {
      std::lock_guard lock(heal->mutex);
      heal->progress.set_state(state);
      heal->progress.set_reason(reason);
      heal->End();
    }
    std::lock_guard lock(mutex_);
    if (std::exchange(heal->last_failure, reason) != reason)
      spdlog::warn("heal.{} volume={} brick={} server={} reason=\"{}\"", state, volume_.name(), heal->brick, server,
                   reason);
  };
  auto target = ConnectBackup(heal->brick, epoch, proto::ROLE_HEAL);
  if (!target.ok()) {
    {
      std::lock_guard lock(heal->mutex);
      heal->progress.Clear();
      heal->progress.set_brick(heal->brick);
    }
    return fail("waiting", "its server does not serve it: " + target.status().ToString());
  }
  // More connections for file data, which the brick serves in parallel; fewer if they fail.
  std::vector<std::unique_ptr<net::ClientTransport>> data_lanes;
  for (int i = 0; i < kDataLanes; ++i)
    if (auto lane = ConnectBackup(heal->brick, epoch, proto::ROLE_HEAL); lane.ok()) data_lanes.push_back(std::move(*lane));
  std::vector<net::ClientTransport*> lanes = {target->get()};
  for (const auto& lane : data_lanes) lanes.push_back(lane.get());
  // The watchdog (CheckProgress) may interrupt the connections while this heal holds them.
  struct Published {
    Heal& heal;
    ~Published() {
      std::lock_guard lock(heal.mutex);
      heal.targets.clear();
    }
  } published{*heal};
  const auto started = Clock::now();
  // What the brick missed, if this primary knows all of it and the brick still holds everything
  // it applied before (its machine did not restart without syncing it): the first pass compares
  // only that. Taken with the tracking of new changes begun, in the volume's order.
  std::optional<std::unordered_set<uint64_t>> missed;
  {
    std::lock_guard role_lock(mutex_);
    std::lock_guard lock(heal->mutex);
    const proto::BrickRef ref = BrickOfLocked(heal->brick);
    full = heal->full;  // cleared once a full first pass has run
    if (!full && !(*target)->hello().unsynced_loss()) missed = missed_.Missed(heal->brick, ref.server() + ":" + ref.path());
    heal->targets = lanes;
    heal->tracking = true;
    heal->dirty.clear();
    heal->progress.Clear();
    heal->progress.set_brick(heal->brick);
    heal->progress.set_state("healing");
    heal->progress.set_pass(1);
    heal->progress.set_started_unix_ms(NowUnixMs());
    heal->progress.set_compares(missed ? "missed" : "everything");
    if (missed) heal->progress.set_missed(missed->size());
  }
  spdlog::info("heal.started volume={} brick={} server={} full={} compares={} missed={}", volume_.name(), heal->brick,
               server, full, missed ? "missed" : "everything", missed ? missed->size() : 0);
  TreeSync sync(served_.brick(), lanes, heal->stop);
  const TreeSize total = missed ? SizeOf(served_.brick(), *missed) : CountEntries(served_.brick());
  {
    std::lock_guard lock(heal->mutex);
    heal->sync = &sync;
    heal->progress.set_entries_total(total.entries);
    heal->progress.set_bytes_total(total.file_bytes);
  }
  auto bandwidth = [this] {
    const proto::Volume volume = Current();
    const std::map<std::string, std::string> options(volume.options().begin(), volume.options().end());
    return std::stoull(VolumeOptionValue(options, "heal-bandwidth")) << 20;  // validated when set
  };
  sync.set_bytes_per_second(bandwidth());
  Status status = sync.Pass(missed ? &*missed : nullptr, full);
  if (status.ok() && full) {
    std::lock_guard lock(mutex_);
    heal->full = false;
  }
  for (uint32_t pass = 2; status.ok(); ++pass) {
    size_t dirty;
    {
      std::lock_guard lock(heal->mutex);
      heal->progress.set_pass(pass);
      dirty = heal->dirty.size();
    }
    if (dirty <= kDirtyForLastPass || pass >= kPassesMax) {
      status = FinishHeal(*heal, sync, **target);
      break;
    }
    auto nodes = heal->TakeDirty();
    sync.set_bytes_per_second(bandwidth());
    status = sync.Pass(&nodes);
  }
  const TreeSync::Counters& counters = sync.counters();
  if (!status.ok()) return fail("failed", status.ToString());
  uint32_t passes;
  {
    std::lock_guard lock(heal->mutex);
    heal->End();
    heal->progress.set_state("done");
    passes = heal->progress.pass();
  }
  {
    std::lock_guard lock(mutex_);
    heal->last_failure.clear();
  }
  spdlog::warn("heal.done volume={} brick={} server={} seconds={:.3f} passes={} directories={} entries={} copied={} "
               "removed={} bytes={}",
               volume_.name(), heal->brick, server, std::chrono::duration<double>(Clock::now() - started).count(),
               passes, counters.directories.load(), counters.entries.load(), counters.copied.load(),
               counters.removed.load(), counters.bytes.load());
}

Status ReplicaRole::FinishHeal(Heal& heal, TreeSync& sync, net::ClientTransport& target) {
  std::unique_lock order(order_mutex_, std::defer_lock);
  if (!order.try_lock_for(kHoldWait))
    return Status(Code::kBusy, "the volume's changes did not pause for the last pass");
  const auto held = Clock::now();
  sync.set_bytes_per_second(0);  // clients wait for this pass
  auto nodes = heal.TakeDirty();
  SHOAL_RETURN_IF_ERROR(sync.Pass(&nodes));
  proto::Request done;
  {
    std::lock_guard lock(mutex_);
    SHOAL_RETURN_IF_ERROR(CheckLease());
    *done.mutable_heal_done()->mutable_position() = applied_;
  }
  const proto::LogPosition position = done.heal_done().position();
  auto reply = target.CallSync(std::move(done), nullptr, /*retry_safe=*/false);
  if (!reply.ok()) return reply.status();
  SHOAL_RETURN_IF_ERROR(proto::StatusOf(reply->response));
  auto etcd = etcd_();
  if (!etcd) return Status(Code::kUnavailable, "no etcd client");
  std::lock_guard role_lock(role_mutex_);
  ReplicaSetEntry entry;
  int64_t lease;
  {
    std::lock_guard lock(mutex_);
    entry = entry_;
    lease = lease_;
  }
  std::vector<uint32_t> in_sync(entry.set.in_sync().begin(), entry.set.in_sync().end());
  in_sync.push_back(heal.brick);
  std::sort(in_sync.begin(), in_sync.end());
  auto joined = SetInSync(*etcd, Current(), entry, in_sync, lease);
  if (!joined.ok()) return joined.status();
  {
    std::lock_guard lock(mutex_);
    entry_ = *joined;
  }
  in_sync_grew_.notify_all();
  auto connected = ConnectBackup(heal.brick, joined->set.epoch());
  if (!connected.ok() || !SamePosition((*connected)->hello().applied(), position)) {
    const std::string why = connected.ok() ? "it answered at another position right after its heal"
                                           : "it could not be reached right after its heal: " +
                                                 connected.status().ToString();
    (void)RemoveFromInSync({{heal.brick, why}});
    return Status(Code::kUnavailable, why);
  }
  auto backup = std::make_shared<Backup>();
  backup->brick = heal.brick;
  backup->generation = (*connected)->generation();
  backup->transport = std::move(*connected);
  {
    std::lock_guard lock(mutex_);
    backups_[heal.brick] = std::move(backup);
    missed_.Forget(heal.brick);
  }
  spdlog::warn("heal.joined volume={} brick={} epoch={} in_sync=[{}] changes_held_ms={}", volume_.name(), heal.brick,
               joined->set.epoch(), fmt::join(joined->set.in_sync(), ","),
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - held).count());
  return Status::Ok();
}

std::vector<proto::HealProgress> ReplicaRole::heals() const {
  std::vector<std::shared_ptr<Heal>> heals;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kPrimary) return {};
    for (const auto& [brick, heal] : heals_) heals.push_back(heal);
  }
  std::vector<proto::HealProgress> progress;
  for (const auto& heal : heals) {
    std::lock_guard lock(heal->mutex);
    heal->CopyCounters();
    heal->progress.set_dirty(heal->dirty.size());
    heal->progress.set_restarts(heal->restarts);
    progress.push_back(heal->progress);
  }
  return progress;
}

Status ReplicaRole::HealNow(bool full) {
  std::lock_guard lock(mutex_);
  SHOAL_RETURN_IF_ERROR(CheckLease());
  for (uint32_t brick = 0; brick < uint32_t(volume_.bricks_size()); ++brick) {
    if (brick == brick_ || InSync(entry_.set, brick)) continue;
    auto& heal = heals_[brick];
    if (!heal) heal = std::make_shared<Heal>(brick);
    heal->full = heal->full || full;
    heal->next_try = Clock::now();
  }
  return Status::Ok();
}

// The brick being healed.

Status ReplicaRole::AdmitHealer(uint64_t epoch) { return AdmitPrimary(epoch, State::kOutOfSync, "heal"); }

Status ReplicaRole::CheckHealer(uint64_t epoch) const {
  std::lock_guard lock(mutex_);
  if (state_ != State::kOutOfSync || epoch < entry_.set.primary_since())
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} no longer takes a heal from the primary of "
                                                 "epoch {}",
                                                 brick_, volume_.name(), epoch));
  return Status::Ok();
}

void ReplicaRole::HealerLeft() {
  std::lock_guard lock(mutex_);
  if (healers_ > 0) --healers_;
}

void ReplicaRole::Healed(const proto::LogPosition& position) {
  std::lock_guard lock(mutex_);
  applied_ = position;
  log_.clear();  // what it applied before is not the history the primary's next change follows
  log_bytes_ = 0;
  spdlog::info("heal.healed volume={} brick={} position={}.{}", volume_.name(), brick_, position.epoch(),
               position.lsn());
}

}  // namespace shoal::server
