#include "server/brick_host.h"

#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "server/volume_records.h"

namespace shoal::server {

BrickHost::BrickHost(BrickHostOptions options, VolumeRegistry& volumes,
                     std::function<std::shared_ptr<coord::EtcdClient>()> etcd)
    : options_(std::move(options)), volumes_(volumes), etcd_(std::move(etcd)) {
  poller_ = std::thread([this] {
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
      lock.unlock();
      Status refreshed = Refresh();
      if (!refreshed.ok()) spdlog::debug("bricks.refresh_failed error=\"{}\"", refreshed.ToString());
      lock.lock();
      stop_requested_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
    }
  });
}

BrickHost::~BrickHost() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  poller_.join();
}

Status BrickHost::Refresh() {
  std::lock_guard refreshing(refresh_mutex_);
  if (options_.witness) return Status::Ok();  // volume create gives a witness no bricks
  // Serializable: served from this server's own etcd member, so bricks keep being served (and
  // newly started ones are served) while the pool has no quorum.
  auto records = ReadVolumes(*etcd_(), /*serializable=*/true);
  if (!records.ok()) return records.status();
  std::set<std::string> wanted;
  for (const VolumeEntry& entry : *records) {
    const proto::Volume& volume = entry.volume;
    if (volume.state() != proto::VOLUME_STATE_STARTED) continue;
    for (int index = 0; index < volume.bricks_size(); ++index) {
      const proto::BrickRef& brick = volume.bricks(index);
      if (brick.server() != options_.server_name) continue;
      wanted.insert(volume.name());
      std::map<std::string, std::string> options(volume.options().begin(), volume.options().end());
      if (!volumes_.Serve(volume.name(), brick.path(), options, volume.bricks_size() > 1).ok()) continue;  // logged
      auto served = volumes_.Find(volume.name());
      if (served.ok() && (*served)->role()) (*served)->role()->UpdateVolume(volume);
      if (volume.bricks_size() > 1 && served.ok() && !(*served)->role())
        (*served)->SetRole(std::make_shared<ReplicaRole>(ReplicaRoleOptions{.server_name = options_.server_name}, volume,
                                                         static_cast<uint32_t>(index), **served, etcd_));
    }
  }
  for (const std::string& name : volumes_.PoolVolumes())
    if (!wanted.contains(name)) volumes_.Unserve(name, "the volume was stopped");
  return Status::Ok();
}

}  // namespace shoal::server
