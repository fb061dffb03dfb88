// IdAllocator: hands out node ids that are never reused, even across crashes.
//
// Ids are reserved in blocks: the end of the current block is written to a file and fsynced
// before any id of the block is handed out, so after a crash the allocator resumes past every id
// it may have given away. Ids 0 (none) and 1 (the volume's root) are never allocated.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace shoal::storage {

class IdAllocator {
 public:
  static constexpr uint64_t kRootId = 1;
  static constexpr uint64_t kBlockIds = 1 << 16;

  // `path` is the reservation file (created if missing).
  static Result<std::unique_ptr<IdAllocator>> Open(const std::string& path);

  Result<uint64_t> Next();
  // Records that `id` is in use (given by another brick's allocator: a backup adopts the ids its
  // primary chose), so that this allocator never hands it out.
  Status Observe(uint64_t id);

 private:
  IdAllocator(std::string path, uint64_t next) : path_(std::move(path)), next_(next), end_(next) {}
  Status Reserve(uint64_t end);

  const std::string path_;
  std::mutex mutex_;
  uint64_t next_;  // guarded by mutex_
  uint64_t end_;   // guarded by mutex_: first id not covered by the stable reservation
};

}  // namespace shoal::storage
