#include "server/volume_registry.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace shoal::server {

void ServedVolume::ApplyOptions(const std::map<std::string, std::string>& options) {
  // Values in a record were validated when they were set; a bad one (a record written by hand)
  // falls back to the default rather than locking everyone out or letting everyone in.
  auto patterns = [&](const char* key) {
    auto parsed = AddressPatterns::Parse(VolumeOptionValue(options, key));
    if (parsed.ok()) return *parsed;
    spdlog::warn("volume.bad_option volume={} key={} error=\"{}\"", name_, key, parsed.status().ToString());
    return *AddressPatterns::Parse(FindVolumeOption(key)->default_value);
  };
  AddressPatterns allow = patterns("auth.allow"), reject = patterns("auth.reject");
  std::lock_guard lock(mutex_);
  read_only_ = VolumeOptionValue(options, "read-only") == "on";
  allow_ = std::move(allow);
  reject_ = std::move(reject);
}

bool ServedVolume::read_only() const {
  std::lock_guard lock(mutex_);
  return read_only_;
}

Status ServedVolume::Admit(const std::string& address) const {
  std::lock_guard lock(mutex_);
  if (allow_.Matches(address) && !reject_.Matches(address)) return Status::Ok();
  return Status(Code::kPermissionDenied,
                fmt::format("volume {} does not admit clients from {} (options auth.allow and auth.reject)", name_,
                            address));
}

bool ServedVolume::AddClient(const std::shared_ptr<net::Connection>& connection, bool reads_only) {
  std::lock_guard lock(mutex_);
  if (stopped_) return false;
  auto& list = reads_only ? readers_ : clients_;
  std::erase_if(list, [](const auto& client) { return client.expired(); });
  list.push_back(connection);
  return true;
}

uint32_t ServedVolume::clients() const {
  std::lock_guard lock(mutex_);
  return static_cast<uint32_t>(std::count_if(clients_.begin(), clients_.end(), [](const auto& client) {
    auto connection = client.lock();
    return connection && !connection->closed();
  }));
}

void ServedVolume::Stop(const std::string& reason) {
  std::shared_ptr<ReplicaRole> role;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    role = role_;
  }
  if (role) role->Stop();
  DisconnectClients(reason);
}

void ServedVolume::DisconnectClients(const std::string& reason) {
  std::vector<std::weak_ptr<net::Connection>> clients;
  {
    std::lock_guard lock(mutex_);
    clients.swap(clients_);
    clients.insert(clients.end(), readers_.begin(), readers_.end());
    readers_.clear();
  }
  for (auto& client : clients)
    if (auto connection = client.lock()) connection->Close(reason);
}

void ServedVolume::SetRole(std::shared_ptr<ReplicaRole> role) {
  std::lock_guard lock(mutex_);
  role_ = std::move(role);
}

std::shared_ptr<ReplicaRole> ServedVolume::role() const {
  std::lock_guard lock(mutex_);
  return role_;
}

Status VolumeRegistry::Open(const std::string& name, const std::string& brick_path, bool is_static,
                            const std::map<std::string, std::string>& options, bool replicated) {
  std::shared_ptr<storage::Brick> brick;
  if (auto it = open_bricks_.find(brick_path); it != open_bricks_.end()) brick = it->second.lock();
  if (!brick) {
    auto opened = storage::Brick::Open({.path = brick_path});
    Volume& volume = volumes_[name];
    volume.is_static = is_static;
    volume.path = brick_path;
    if (!opened.ok()) {
      // BrickHost retries every few seconds: say it again only when the reason changes.
      const bool news = volume.served != nullptr || volume.unavailable.message() != opened.status().message();
      volume.served.reset();
      volume.unavailable = opened.status();
      if (news)
        spdlog::error("volume.refused volume={} brick={} error=\"{}\"", name, brick_path, opened.status().ToString());
      return opened.status();
    }
    brick = std::move(opened.value());
    open_bricks_[brick_path] = brick;
  }
  Volume& volume = volumes_[name];
  volume.is_static = is_static;
  volume.path = brick_path;
  volume.served = std::make_shared<ServedVolume>(name, std::move(brick), replicated);
  volume.served->ApplyOptions(options);
  volume.unavailable = Status::Ok();
  spdlog::info("volume.serving volume={} brick={}", name, brick_path);
  return Status::Ok();
}

Status VolumeRegistry::AddStatic(const std::string& name, const std::string& brick_path) {
  if (name.empty() || name.find('/') != std::string::npos)
    return Status(Code::kInvalidArgument, fmt::format("bad volume name '{}'", name));
  std::lock_guard lock(mutex_);
  if (volumes_.contains(name)) return Status(Code::kExists, fmt::format("volume {} given twice", name));
  return Open(name, brick_path, /*is_static=*/true, {});
}

Status VolumeRegistry::Serve(const std::string& name, const std::string& brick_path,
                             const std::map<std::string, std::string>& options, bool replicated) {
  std::lock_guard lock(mutex_);
  auto it = volumes_.find(name);
  if (it != volumes_.end() && it->second.is_static)
    return Status(Code::kExists, fmt::format("volume {} is also declared by --volume; the pool's is not served", name));
  if (it != volumes_.end() && it->second.path == brick_path && it->second.served) {
    it->second.served->ApplyOptions(options);
    return Status::Ok();
  }
  if (it != volumes_.end() && it->second.served) it->second.served->Stop("the volume's brick moved");
  return Open(name, brick_path, /*is_static=*/false, options, replicated);
}

void VolumeRegistry::Unserve(const std::string& name, const std::string& reason) {
  std::shared_ptr<ServedVolume> served;
  {
    std::lock_guard lock(mutex_);
    auto it = volumes_.find(name);
    if (it == volumes_.end() || it->second.is_static) return;
    served = std::move(it->second.served);
    volumes_.erase(it);
  }
  if (served) {
    spdlog::info("volume.unserved volume={} reason=\"{}\"", name, reason);
    served->Stop(reason);
  }
}

Result<std::shared_ptr<ServedVolume>> VolumeRegistry::Find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return Status(Code::kNoVolume, fmt::format("no volume named '{}' on this server", name));
  if (!it->second.served)
    return Status(Code::kNoVolume, fmt::format("volume {} is unavailable: {}", name, it->second.unavailable.message()));
  return it->second.served;
}

void VolumeRegistry::StopRoles() {
  std::vector<std::shared_ptr<ReplicaRole>> roles;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, volume] : volumes_)
      if (volume.served && volume.served->role()) roles.push_back(volume.served->role());
  }
  for (const auto& role : roles) role->Stop();
}

std::vector<std::string> VolumeRegistry::PoolVolumes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, volume] : volumes_)
    if (!volume.is_static) names.push_back(name);
  return names;
}

std::vector<std::string> VolumeRegistry::StaticVolumes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, volume] : volumes_)
    if (volume.is_static) names.push_back(name);
  return names;
}

std::string VolumeRegistry::BrickPath(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = volumes_.find(name);
  return it == volumes_.end() ? std::string() : it->second.path;
}

void VolumeRegistry::SyncAll() {
  std::vector<std::shared_ptr<storage::Brick>> bricks;
  {
    std::lock_guard lock(mutex_);
    for (auto& [path, brick] : open_bricks_)
      if (auto open = brick.lock()) bricks.push_back(std::move(open));
  }
  for (auto& brick : bricks) (void)brick->Sync();
}

}  // namespace shoal::server
