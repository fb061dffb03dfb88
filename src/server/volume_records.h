// The pool's volume records in etcd: one key per volume, kVolumePrefix + name, holding a
// proto::Volume in protobuf JSON. Every change is a compare-and-swap on the key's revision, so
// two servers changing one volume at once cannot both succeed: the second is told to retry.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "coord/etcd_client.h"
#include "proto/shoal.pb.h"

namespace shoal::server {

inline constexpr const char* kVolumePrefix = "/shoal/volumes/";

struct VolumeEntry {
  proto::Volume volume;
  int64_t mod_revision = 0;  // for the compare-and-swap of a change
};

// Every volume, in name order. `serializable`: from the local member's copy (no quorum needed,
// possibly stale).
Result<std::vector<VolumeEntry>> ReadVolumes(coord::EtcdClient& etcd, bool serializable = false);
// One volume; kNotFound (saying so) if there is none of that name.
Result<VolumeEntry> ReadVolume(coord::EtcdClient& etcd, const std::string& name);
// Writes `volume` if its key is still at `mod_revision` (0: must not exist). kBusy if another
// change came first (kExists for a new volume whose name was taken).
Status WriteVolume(coord::EtcdClient& etcd, const proto::Volume& volume, int64_t mod_revision);
// Deletes the volume if its key is still at `mod_revision`.
Status DeleteVolume(coord::EtcdClient& etcd, const std::string& name, int64_t mod_revision);

// The message for a change etcd could not make because it has no quorum (or no answer).
Status NoQuorum(const Status& etcd_error);

}  // namespace shoal::server
