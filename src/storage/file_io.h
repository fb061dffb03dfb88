// Operations on an open descriptor of a file on a brick. The server's session owns the
// descriptors (one per client open); these functions only turn system calls into Status.
// Thread-safe as the underlying system calls are.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "proto/shoal.pb.h"

namespace shoal::storage {

// Reads up to `size` bytes at `offset`; fewer at the end of the file.
Result<std::string> ReadAt(int fd, uint64_t offset, uint32_t size);
// Writes all of `data` at `offset` (or at the end, if the descriptor was opened O_APPEND).
Result<uint32_t> WriteAt(int fd, uint64_t offset, std::span<const uint8_t> data);
Status Sync(int fd, bool data_only);
Status Allocate(int fd, uint32_t mode, uint64_t offset, uint64_t length);
Result<uint64_t> Seek(int fd, uint64_t offset, uint32_t whence);

// Byte-range locks, taken as open-file-description locks on `fd`: the server gives each lock
// owner its own descriptor, so the kernel's conflict rules are exactly POSIX's between owners.
// Never blocks: a conflict is kWouldBlock.
Status SetRangeLock(int fd, const proto::Lock& lock);
// The first lock that would conflict with `lock`, or type LOCK_TYPE_UNLOCK if none would.
Result<proto::Lock> TestRangeLock(int fd, const proto::Lock& lock);
// flock(2) on the descriptor of one open: shared, exclusive or unlock, never blocking.
Status SetWholeFileLock(int fd, proto::LockType type);

}  // namespace shoal::storage
