#include "server/replica_set.h"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "server/volume_records.h"

namespace shoal::server {
namespace {

using coord::Compare;

std::string SetKey(const std::string& volume) { return kReplicaSetPrefix + volume; }
std::string PrimaryKey(const std::string& volume) { return kPrimaryPrefix + volume; }

proto::ReplicaSet Initial(const proto::Volume& volume) {
  proto::ReplicaSet set;
  set.set_primary(-1);
  for (int i = 0; i < volume.bricks_size(); ++i) set.add_in_sync(static_cast<uint32_t>(i));
  set.set_min_in_sync(MinInSync(volume));
  set.set_volume_id(volume.id());
  return set;
}

std::string Json(const proto::ReplicaSet& set) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(set, &json);
  return json;
}

// Writes `next` if the record is still at `entry`'s revision and `held` holds.
Result<ReplicaSetEntry> Write(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry,
                              proto::ReplicaSet next, Compare held, std::vector<coord::TxnOp> also) {
  const std::string key = SetKey(volume.name());
  also.insert(also.begin(), coord::PutRequest{.key = key, .value = Json(next)});
  auto txn = etcd.Txn({.compare = {{.key = key, .target = Compare::Target::kModRevision, .number = entry.mod_revision},
                                   std::move(held)},
                       .success = std::move(also),
                       .failure = {coord::RangeRequest{.key = PrimaryKey(volume.name())}}});
  if (!txn.ok()) return NoQuorum(txn.status());
  if (!txn->succeeded) {
    const auto& primary = std::get<coord::RangeResponse>(txn->responses.at(0));
    if (entry.primary_lease != 0 && (primary.kvs.empty() || primary.kvs[0].lease != entry.primary_lease))
      return Status(Code::kNotPrimary, fmt::format("volume {}: this brick no longer holds the primary role", volume.name()));
    return Status(Code::kBusy, fmt::format("volume {}: the replica set changed meanwhile", volume.name()));
  }
  return ReplicaSetEntry{.set = std::move(next), .mod_revision = txn->revision, .primary_lease = entry.primary_lease};
}

}  // namespace

uint32_t DefaultMinInSync(const proto::Volume& volume) {
  if (volume.bricks_size() <= 2) return 1;
  return static_cast<uint32_t>(volume.bricks_size() / 2 + 1);
}

uint32_t MinInSync(const proto::Volume& volume) {
  auto it = volume.options().find("min-in-sync");
  if (it == volume.options().end() || it->second == "auto") return DefaultMinInSync(volume);
  const int wanted = std::atoi(it->second.c_str());
  return static_cast<uint32_t>(std::clamp(wanted, 1, std::max(1, volume.bricks_size())));
}

bool InSync(const proto::ReplicaSet& set, uint32_t brick) {
  return std::find(set.in_sync().begin(), set.in_sync().end(), brick) != set.in_sync().end();
}

Result<ReplicaSetEntry> ReadReplicaSet(coord::EtcdClient& etcd, const proto::Volume& volume, bool serializable) {
  // One range over both prefixes would also return other volumes' keys; two reads in one
  // transaction give a consistent pair.
  auto txn = etcd.Txn({.success = {coord::RangeRequest{.key = SetKey(volume.name()), .serializable = serializable},
                                   coord::RangeRequest{.key = PrimaryKey(volume.name()), .serializable = serializable}}});
  if (!txn.ok()) return txn.status();
  const auto& record = std::get<coord::RangeResponse>(txn->responses.at(0));
  const auto& primary = std::get<coord::RangeResponse>(txn->responses.at(1));
  ReplicaSetEntry entry;
  entry.set = Initial(volume);
  if (!record.kvs.empty()) {
    entry.mod_revision = record.kvs[0].mod_revision;
    proto::ReplicaSet stored;
    if (!google::protobuf::util::JsonStringToMessage(record.kvs[0].value, &stored).ok())
      return Status(Code::kBadMessage, fmt::format("the record {} is not a replica set", record.kvs[0].key));
    // A record left by an older volume of the same name: this volume starts afresh (and its
    // epoch goes on growing, so that nothing of the old volume's is ever taken for current).
    if (stored.volume_id() == volume.id()) {
      entry.set = std::move(stored);
    } else {
      entry.set.set_epoch(stored.epoch());
    }
  }
  if (!primary.kvs.empty()) entry.primary_lease = primary.kvs[0].lease;
  return entry;
}

Result<ReplicaSetEntry> TakePrimary(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry,
                                    int32_t brick, const std::vector<uint32_t>& in_sync, int64_t lease) {
  proto::ReplicaSet next = entry.set;
  next.set_epoch(entry.set.epoch() + 1);
  next.set_min_in_sync(MinInSync(volume));
  next.set_primary(brick);
  next.set_primary_since(next.epoch());
  next.clear_in_sync();
  for (uint32_t i : in_sync) next.add_in_sync(i);
  Compare vacant{.key = PrimaryKey(volume.name()), .target = Compare::Target::kVersion, .number = 0};
  ReplicaSetEntry asked = entry;
  asked.primary_lease = 0;
  auto taken = Write(etcd, volume, asked, std::move(next), std::move(vacant),
                     {coord::PutRequest{.key = PrimaryKey(volume.name()), .value = std::to_string(brick), .lease = lease}});
  if (taken.ok()) taken->primary_lease = lease;
  return taken;
}

Result<ReplicaSetEntry> SetInSync(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry,
                                  const std::vector<uint32_t>& in_sync, int64_t lease) {
  proto::ReplicaSet next = entry.set;
  next.set_epoch(entry.set.epoch() + 1);
  next.set_min_in_sync(MinInSync(volume));
  next.clear_in_sync();
  for (uint32_t i : in_sync) next.add_in_sync(i);
  Compare held{.key = PrimaryKey(volume.name()), .target = Compare::Target::kLease, .number = lease};
  ReplicaSetEntry asked = entry;
  asked.primary_lease = lease;
  return Write(etcd, volume, asked, std::move(next), std::move(held), {});
}

Status ResignPrimary(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry, int64_t lease) {
  proto::ReplicaSet next = entry.set;
  next.set_epoch(entry.set.epoch() + 1);
  next.set_primary(-1);
  Compare held{.key = PrimaryKey(volume.name()), .target = Compare::Target::kLease, .number = lease};
  ReplicaSetEntry asked = entry;
  asked.primary_lease = lease;
  return Write(etcd, volume, asked, std::move(next), std::move(held), {DeletePrimaryOp(volume.name())}).status();
}

Status ReplaceBrickRecords(coord::EtcdClient& etcd, const proto::Volume& volume, int64_t volume_revision,
                           uint32_t brick) {
  SHOAL_ASSIGN_OR_RETURN(ReplicaSetEntry entry, ReadReplicaSet(etcd, volume));
  if (entry.primary_lease != 0 && entry.set.primary() == int32_t(brick))
    return Status(Code::kBusy, fmt::format("that brick is the primary of volume {} now: stop its server first "
                                           "(`systemctl stop shoald` hands the role over), then replace it",
                                           volume.name()));
  proto::ReplicaSet next = entry.set;
  next.set_epoch(entry.set.epoch() + 1);
  next.clear_in_sync();
  for (uint32_t i : entry.set.in_sync())
    if (i != brick) next.add_in_sync(i);
  if (next.in_sync_size() == 0)
    return Status(Code::kUnavailable, fmt::format("no other brick of volume {} is in sync: there is nothing to fill "
                                                  "the new brick from",
                                                  volume.name()));
  std::string record;
  (void)google::protobuf::util::MessageToJsonString(volume, &record);
  const std::string volume_key = kVolumePrefix + volume.name();
  auto txn = etcd.Txn(
      {.compare = {{.key = volume_key, .target = Compare::Target::kModRevision, .number = volume_revision},
                   {.key = SetKey(volume.name()), .target = Compare::Target::kModRevision, .number = entry.mod_revision}},
       .success = {coord::PutRequest{.key = volume_key, .value = record},
                   coord::PutRequest{.key = SetKey(volume.name()), .value = Json(next)}}});
  if (!txn.ok()) return NoQuorum(txn.status());
  if (!txn->succeeded)
    return Status(Code::kBusy, fmt::format("volume {} changed meanwhile: try again", volume.name()));
  return Status::Ok();
}

coord::TxnOp DeleteReplicaSetOp(const std::string& volume) { return coord::DeleteRequest{.key = SetKey(volume)}; }
coord::TxnOp DeletePrimaryOp(const std::string& volume) { return coord::DeleteRequest{.key = PrimaryKey(volume)}; }

bool SamePosition(const proto::LogPosition& a, const proto::LogPosition& b) {
  return a.epoch() == b.epoch() && a.lsn() == b.lsn();
}

}  // namespace shoal::server
