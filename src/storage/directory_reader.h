// DirectoryReader: one client's open directory on a brick, read in batches resumed by cookie.
//
// Every brick of a volume lists a directory in the same order and gives each entry the same
// cookie: "." is 1, ".." is 2, and any other entry's cookie is a hash of its name
// (DirectoryCookie), in whose order the entries come. So a listing that began on one brick
// resumes on another after a failover, skipping nothing and repeating nothing, whatever
// filesystem each brick sits on (the filesystem's own offsets differ from one to the next: ext4
// seeds its name hashes per filesystem). The reader takes the directory's names when a listing
// starts (cookie 0, or the first call on this reader) and serves the batches from them: an entry
// created meanwhile may be missing and one removed meanwhile is skipped, as POSIX allows for
// entries changed during a listing. Two names whose 63-bit hashes are equal could lose one on a
// resume between them. The brick's state directory is never listed. One reader serves one open
// directory; calls are serialized by its own mutex.
#pragma once

#include <dirent.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "proto/shoal.pb.h"
#include "storage/brick.h"

namespace shoal::storage {

// The cookie of entry `name` on every brick (not for "." and "..", which are 1 and 2).
uint64_t DirectoryCookie(std::string_view name);

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
  struct Listed {
    uint64_t cookie;
    std::string name;
    unsigned char type;
    ino_t ino;
  };
  // The directory's names now, in cookie order (under mutex_).
  Status TakeNames();

  Brick& brick_;
  const NodeId node_;
  std::mutex mutex_;
  DIR* const dir_;               // guarded by mutex_
  bool listed_ = false;          // guarded by mutex_: names_ holds a listing
  std::vector<Listed> names_;    // guarded by mutex_
};

}  // namespace shoal::storage
