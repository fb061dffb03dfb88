#include "server/volume_records.h"

#include "server/replica_set.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

namespace shoal::server {
namespace {

Result<VolumeEntry> Parse(const coord::KeyValue& kv) {
  VolumeEntry entry;
  if (!google::protobuf::util::JsonStringToMessage(kv.value, &entry.volume).ok())
    return Status(Code::kBadMessage, fmt::format("the record {} is not a volume", kv.key));
  entry.mod_revision = kv.mod_revision;
  return entry;
}

Status Changed(const std::string& name) {
  return Status(Code::kBusy, fmt::format("volume {} was changed by another command at the same time: try again", name));
}

}  // namespace

Status NoQuorum(const Status& etcd_error) {
  if (etcd_error.code() != Code::kUnavailable && etcd_error.code() != Code::kTimedOut &&
      etcd_error.code() != Code::kIoError)
    return etcd_error;
  return Status(Code::kUnavailable,
                fmt::format("the pool's etcd cluster does not answer with a quorum ({}): changes are refused until a "
                            "majority of the pool's servers is back (`shoal pool list` shows which are down)",
                            etcd_error.message()));
}

Result<std::vector<VolumeEntry>> ReadVolumes(coord::EtcdClient& etcd, bool serializable) {
  auto range = etcd.Range({.key = kVolumePrefix, .prefix = true, .serializable = serializable});
  if (!range.ok()) return range.status();
  std::vector<VolumeEntry> volumes;
  for (const coord::KeyValue& kv : range->kvs) {
    auto entry = Parse(kv);
    if (!entry.ok()) {
      spdlog::warn("volume.bad_record key={}", kv.key);
      continue;
    }
    volumes.push_back(std::move(*entry));
  }
  return volumes;
}

Result<VolumeEntry> ReadVolume(coord::EtcdClient& etcd, const std::string& name) {
  auto kv = etcd.Get(kVolumePrefix + name);
  if (!kv.ok()) return kv.status();
  if (!kv->has_value())
    return Status(Code::kNoVolume, fmt::format("there is no volume named '{}' (`shoal volume list`)", name));
  return Parse(**kv);
}

Status WriteVolume(coord::EtcdClient& etcd, const proto::Volume& volume, int64_t mod_revision) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(volume, &json);
  const std::string key = kVolumePrefix + volume.name();
  auto txn = etcd.Txn({.compare = {{.key = key, .target = coord::Compare::Target::kModRevision, .number = mod_revision}},
                       .success = {coord::PutRequest{.key = key, .value = json}}});
  if (!txn.ok()) return NoQuorum(txn.status());
  if (!txn->succeeded)
    return mod_revision == 0 ? Status(Code::kExists, fmt::format("a volume named '{}' exists already", volume.name()))
                             : Changed(volume.name());
  return Status::Ok();
}

Status DeleteVolume(coord::EtcdClient& etcd, const std::string& name, int64_t mod_revision) {
  const std::string key = kVolumePrefix + name;
  auto txn = etcd.Txn({.compare = {{.key = key, .target = coord::Compare::Target::kModRevision, .number = mod_revision}},
                       .success = {coord::DeleteRequest{.key = key}, DeleteReplicaSetOp(name), DeletePrimaryOp(name)}});
  if (!txn.ok()) return NoQuorum(txn.status());
  if (!txn->succeeded) return Changed(name);
  return Status::Ok();
}

}  // namespace shoal::server
