#include "server/volume_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shoal::server {

Status VolumeRegistry::Add(const std::string& name, const std::string& brick_path) {
  if (name.empty() || name.find('/') != std::string::npos)
    return Status(Code::kInvalidArgument, fmt::format("bad volume name '{}'", name));
  if (volumes_.contains(name)) return Status(Code::kExists, fmt::format("volume {} given twice", name));
  Volume& volume = volumes_[name];
  auto brick = storage::Brick::Open({.path = brick_path});
  if (!brick.ok()) {
    volume.unavailable = brick.status();
    spdlog::error("volume.refused volume={} brick={} error=\"{}\"", name, brick_path, brick.status().ToString());
    return brick.status();
  }
  volume.brick = std::move(brick.value());
  spdlog::info("volume.serving volume={} brick={}", name, brick_path);
  return Status::Ok();
}

Result<storage::Brick*> VolumeRegistry::Find(const std::string& name) const {
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return Status(Code::kNoVolume, fmt::format("no volume named '{}' on this server", name));
  if (!it->second.brick)
    return Status(Code::kNoVolume, fmt::format("volume {} is unavailable: {}", name, it->second.unavailable.message()));
  return it->second.brick.get();
}

void VolumeRegistry::SyncAll() {
  for (auto& [name, volume] : volumes_)
    if (volume.brick) (void)volume.brick->Sync();
}

}  // namespace shoal::server
