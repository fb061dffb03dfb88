// DirectoryReader: one client's open directory on a brick, read in batches resumed by cookie.
//
// Cookies are the brick filesystem's own directory offsets (d_off), so a listing resumes where
// it stopped even while the directory changes, as it would on the local filesystem. The brick's
// state directory is never listed. One reader serves one open directory; calls are serialized by
// its own mutex.
#pragma once

#include <dirent.h>

#include <mutex>

#include "common/status.h"
#include "common/unique_fd.h"
#include "proto/shoal.pb.h"
#include "storage/brick.h"

namespace shoal::storage {

class DirectoryReader {
 public:
  DirectoryReader(Brick& brick, NodeId node, DIR* dir) : brick_(brick), node_(node), dir_(dir) {}
  static Result<std::unique_ptr<DirectoryReader>> Open(Brick& brick, NodeId node);
  ~DirectoryReader() { ::closedir(dir_); }
  DirectoryReader(const DirectoryReader&) = delete;
  DirectoryReader& operator=(const DirectoryReader&) = delete;

  // Up to `entries_max` entries after `cookie` (0: from the start); `plus` adds attributes.
  Result<proto::ReadDirResponse> Read(uint64_t cookie, uint32_t entries_max, bool plus);
  int fd() const { return ::dirfd(dir_); }

 private:
  Brick& brick_;
  const NodeId node_;
  std::mutex mutex_;
  DIR* const dir_;          // guarded by mutex_
  uint64_t position_ = 0;   // guarded by mutex_: the cookie the next readdir continues from
};

}  // namespace shoal::storage
