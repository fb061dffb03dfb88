// The replica set of a replicated volume in etcd (DESIGN.md §3, §5).
//
// Two keys per volume:
//   kReplicaSetPrefix + NAME: a proto::ReplicaSet (JSON) — epoch, primary, in-sync set, min_in_sync;
//   kPrimaryPrefix + NAME: held by the primary under its etcd lease, so it disappears by itself
//     when the primary stops renewing it (dies, freezes, is cut off).
// Every change is one transaction that compares the record's revision and, for the primary's own
// changes, that the primary key is still held under the primary's lease: two primaries can never
// both change the record, and a primary whose lease ran out can change nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coord/etcd_client.h"
#include "proto/shoal.pb.h"

namespace shoal::server {

inline constexpr const char* kReplicaSetPrefix = "/shoal/replica-sets/";
inline constexpr const char* kPrimaryPrefix = "/shoal/primaries/";

struct ReplicaSetEntry {
  proto::ReplicaSet set;
  int64_t mod_revision = 0;       // 0: no record yet (a volume never started)
  // The lease of the primary key; 0: no one holds the role now (set.primary is then the last
  // brick that held it, -1 if it handed the role over cleanly or never had it).
  int64_t primary_lease = 0;
};

// The record of `volume` (as created by volume `volume_id` with `bricks` bricks): a missing record,
// or one of an older volume of the same name, reads as the initial one — every brick in sync, no
// primary, epoch 0 — with mod_revision telling the transaction what to compare.
Result<ReplicaSetEntry> ReadReplicaSet(coord::EtcdClient& etcd, const proto::Volume& volume, bool serializable = false);

// The writes fail with kBusy when the record changed since `entry` was read (read it again), and
// with kNotPrimary when the primary key is no longer held under `lease`.

// Brick `brick` becomes primary under `lease`, if no one holds the role: epoch + 1, primary_since
// = the new epoch, the in-sync set becomes `in_sync`. Returns the new entry.
Result<ReplicaSetEntry> TakePrimary(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry,
                                    int32_t brick, const std::vector<uint32_t>& in_sync, int64_t lease);
// The primary (holding `lease`) sets the in-sync set: epoch + 1.
Result<ReplicaSetEntry> SetInSync(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry,
                                  const std::vector<uint32_t>& in_sync, int64_t lease);
// The primary hands its role over cleanly (a planned stop): primary -1, epoch + 1, and its key
// is deleted, so that another brick takes the role at once and keeps this one in the in-sync set.
Status ResignPrimary(coord::EtcdClient& etcd, const proto::Volume& volume, const ReplicaSetEntry& entry, int64_t lease);
// Writes `volume` (its record was at `volume_revision`), whose brick `brick` was replaced by an
// empty one, and in the same transaction takes that brick out of the in-sync set (epoch + 1), so
// that the new brick is never taken for a copy. Refused while the brick is the primary, and when
// no other brick is in sync (there would be nothing to heal it from); kBusy if either record
// changed meanwhile. The primary learns of the change on its next look at the record.
Status ReplaceBrickRecords(coord::EtcdClient& etcd, const proto::Volume& volume, int64_t volume_revision,
                           uint32_t brick);
// Deletes both keys (the volume is deleted).
coord::TxnOp DeleteReplicaSetOp(const std::string& volume);
coord::TxnOp DeletePrimaryOp(const std::string& volume);

// The default minimum of in-sync bricks for a volume: a majority of its bricks (2 of 3), or 1 of
// 2 with a witness, where the witness's etcd member breaks ties.
uint32_t DefaultMinInSync(const proto::Volume& volume);
// The volume's option min-in-sync, or the default for "auto".
uint32_t MinInSync(const proto::Volume& volume);
bool InSync(const proto::ReplicaSet& set, uint32_t brick);
bool SamePosition(const proto::LogPosition& a, const proto::LogPosition& b);

}  // namespace shoal::server
