// Read leases: what lets an in-sync backup answer reads (docs/design.md, "Reads spread over the
// bricks").
//
// A backup answers a read only while it holds a lease from the primary, and a primary that takes a
// backup out of the in-sync set waits until that backup's lease has surely ended before it
// acknowledges a change the backup missed. So a backup cut off from its primary, frozen, or
// dropped for answering too slowly stops serving before it could serve something stale.
//
// The two sides count the lease from moments whose order is known without comparing clocks. The
// primary sends offers, one at a time; the backup notes when each arrived (on its own clock). The
// next offer grants the last one the backup answered: the backup's lease runs from that offer's
// arrival, and the primary's count of it from the grant, which it sends after the answer came
// back, so after the arrival. The backup's lease therefore ends first; only the clocks' rates must
// agree, and the primary adds a margin for that. A grant never reaches past the primary's own etcd
// lease, so a brick that takes the role after that lease ran out finds no backup still leased by
// the last primary. A planned hand-over (the old primary revokes its lease) is covered by the new
// primary: each backup it reaches drops the old primary's lease when it admits the new one, and if
// it cannot reach one it waits a lease out before it serves (BecomePrimary).
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proto/messages.h"
#include "server/replica_role.h"

namespace shoal::server {
namespace {

// What the primary adds to a lease it waits out: the backup's clock may run a little slower.
std::chrono::milliseconds Margin(int lease_ms) { return std::chrono::milliseconds(10 + lease_ms / 100); }

}  // namespace

ReplicaRole::Clock::duration ReplicaRole::ReadLeaseWithMargin() const {
  return std::chrono::milliseconds(options_.read_lease_ms) + Margin(options_.read_lease_ms);
}

Status ReplicaRole::MayServeSpreadRead() const {
  std::lock_guard lock(mutex_);
  if (state_ == State::kPrimary) return CheckLease();
  if (state_ == State::kBackup && Clock::now() < read_lease_until_) return Status::Ok();
  return Status(Code::kUnavailable, fmt::format("brick {} of volume {} holds no read lease now (it is {})", brick_,
                                                volume_.name(), StateNameLocked()));
}

Status ReplicaRole::TakeReadLease(uint64_t epoch, const proto::ReadLeaseRequest& lease) {
  const auto arrived = Clock::now();
  std::lock_guard lock(mutex_);
  if (state_ != State::kBackup || epoch != read_lease_epoch_ || epoch < entry_.set.primary_since())
    return Status(Code::kNotPrimary, fmt::format("brick {} of volume {} takes no read lease from a primary of epoch {}",
                                                 brick_, volume_.name(), epoch));
  if (lease.grant() != 0 && lease.grant() == read_lease_offer_)
    read_lease_until_ =
        std::max(read_lease_until_, read_lease_offered_at_ + std::chrono::milliseconds(lease.lease_ms()));
  read_lease_offer_ = lease.offer();
  read_lease_offered_at_ = arrived;
  return Status::Ok();
}

void ReplicaRole::RenewReadLeases() {
  std::vector<std::pair<std::shared_ptr<Backup>, proto::Request>> offers;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kPrimary) return;
    const auto now = Clock::now();
    const auto until = std::min(now + std::chrono::milliseconds(options_.read_lease_ms), lease_valid_until_);
    const auto lease_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    for (auto& [brick, backup] : backups_) {
      ReadLease& lease = *backup->read_lease;
      // A backup whose connection was made again may have missed changes: it is on its way out.
      if (lease.in_flight || lease.revoked || backup->transport->generation() != backup->generation) continue;
      proto::Request request;
      auto* offer = request.mutable_read_lease();
      offer->set_offer(++lease.offered);
      if (lease.answered != 0 && lease_ms > 0) {
        offer->set_grant(lease.answered);
        offer->set_lease_ms(static_cast<uint32_t>(lease_ms));
        lease.granted_until = std::max(lease.granted_until, now + std::chrono::milliseconds(lease_ms));
      }
      lease.in_flight = true;
      offers.emplace_back(backup, std::move(request));
    }
  }
  for (auto& [backup, request] : offers) {
    const uint64_t offer = request.read_lease().offer();
    // The callback holds the lease's state, not the backup: a backup (and its transport) must not
    // be destroyed on its own transport's thread.
    backup->transport->Call(std::move(request), nullptr, /*retry_safe=*/false,
                            [this, lease = backup->read_lease, offer](Result<net::Reply> reply) {
                              const bool taken = reply.ok() && proto::StatusOf(reply->response).ok();
                              std::lock_guard lock(mutex_);
                              lease->in_flight = false;
                              if (taken) lease->answered = offer;
                            });
  }
}

std::vector<ReplicaRole::LeaseHolder> ReplicaRole::RevokeReadLeasesLocked(const std::vector<uint32_t>& bricks) {
  std::vector<LeaseHolder> holders;
  for (uint32_t brick : bricks) {
    auto it = backups_.find(brick);
    if (it == backups_.end()) continue;
    ReadLease& lease = *it->second->read_lease;
    lease.revoked = true;
    if (lease.granted_until == Clock::time_point{}) continue;  // never granted one
    holders.push_back({.brick = brick,
                       .server = BrickOfLocked(brick).server(),
                       .connection_lost = !it->second->transport->connected(),
                       .ends = lease.granted_until + Margin(options_.read_lease_ms)});
  }
  return holders;
}

void ReplicaRole::AwaitReadLeasesEnd(const std::vector<LeaseHolder>& holders, std::string_view why,
                                     const std::function<bool()>& meanwhile) {
  Clock::time_point ends{};
  for (const LeaseHolder& holder : holders) {
    if (holder.ends <= Clock::now() || holder.ends <= ends) continue;
    // A backup killed or stopped: its connection closed, and its server refuses connections.
    if (holder.connection_lost && NothingListens(holder.server)) {
      spdlog::info("replica.read_lease_gone volume={} brick={} server={}: its server no longer listens", volume_.name(),
                   holder.brick, holder.server);
      continue;
    }
    ends = holder.ends;
  }
  const auto now = Clock::now();
  if (ends <= now) return;
  spdlog::info("replica.read_lease_wait volume={} wait_ms={} reason=\"{}\"", volume_.name(),
               std::chrono::duration_cast<std::chrono::milliseconds>(ends - now).count(), why);
  if (!meanwhile) return std::this_thread::sleep_until(ends);
  while (Clock::now() < ends) {
    std::this_thread::sleep_until(std::min(ends, Clock::now() + std::chrono::milliseconds(100)));
    if (!meanwhile()) return;
  }
}

}  // namespace shoal::server
