// VolumeRegistry: the volumes this server serves, by name, each with its brick or the reason it
// cannot be served. Filled at start-up, read-only afterwards, so lookups need no lock.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/brick.h"

namespace shoal::server {

class VolumeRegistry {
 public:
  // Opens the brick of volume `name`; a brick that cannot be opened is remembered with its reason
  // and refused to clients, while the other volumes are served.
  Status Add(const std::string& name, const std::string& brick_path);
  // The brick of a servable volume, or why there is none.
  Result<storage::Brick*> Find(const std::string& name) const;
  // Writes every brick's index to stable storage.
  void SyncAll();

 private:
  struct Volume {
    std::unique_ptr<storage::Brick> brick;
    Status unavailable;
  };
  std::map<std::string, Volume> volumes_;
};

}  // namespace shoal::server
