#include "storage/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

namespace shoal::storage {
namespace {

struct flock ToFlock(const proto::Lock& lock) {
  struct flock fl {};
  fl.l_type = lock.type() == proto::LOCK_TYPE_READ ? F_RDLCK : lock.type() == proto::LOCK_TYPE_WRITE ? F_WRLCK : F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(lock.start());
  fl.l_len = static_cast<off_t>(lock.length());
  return fl;
}

}  // namespace

Result<std::string> ReadAt(int fd, uint64_t offset, uint32_t size) {
  std::string data(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read");
    }
    if (n == 0) break;
    done += n;
  }
  data.resize(done);
  return data;
}

Result<uint32_t> WriteAt(int fd, uint64_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;  // report the short write, as write(2) would
      return ErrnoStatus(errno, "write");
    }
    done += n;
  }
  return static_cast<uint32_t>(done);
}

Status Sync(int fd, bool data_only) {
  if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) != 0) return ErrnoStatus(errno, "fsync");
  return Status::Ok();
}

Status Allocate(int fd, uint32_t mode, uint64_t offset, uint64_t length) {
  if (::fallocate(fd, static_cast<int>(mode), static_cast<off_t>(offset), static_cast<off_t>(length)) != 0)
    return ErrnoStatus(errno, "fallocate");
  return Status::Ok();
}

Result<uint64_t> Seek(int fd, uint64_t offset, uint32_t whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE)
    return Status(Code::kInvalidArgument, "only SEEK_DATA and SEEK_HOLE are served remotely");
  off_t at = ::lseek(fd, static_cast<off_t>(offset), static_cast<int>(whence));
  if (at < 0) return ErrnoStatus(errno, "lseek");
  return static_cast<uint64_t>(at);
}

Status SetRangeLock(int fd, const proto::Lock& lock) {
  struct flock fl = ToFlock(lock);
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    if (errno == EACCES) errno = EAGAIN;
    return ErrnoStatus(errno, "setlk");
  }
  return Status::Ok();
}

Result<proto::Lock> TestRangeLock(int fd, const proto::Lock& lock) {
  struct flock fl = ToFlock(lock);
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return ErrnoStatus(errno, "getlk");
  proto::Lock found;
  found.set_type(fl.l_type == F_RDLCK ? proto::LOCK_TYPE_READ : fl.l_type == F_WRLCK ? proto::LOCK_TYPE_WRITE : proto::LOCK_TYPE_UNLOCK);
  found.set_start(fl.l_start);
  found.set_length(fl.l_len);
  return found;
}

Status SetWholeFileLock(int fd, proto::LockType type) {
  int op = type == proto::LOCK_TYPE_READ ? LOCK_SH : type == proto::LOCK_TYPE_WRITE ? LOCK_EX : LOCK_UN;
  if (::flock(fd, op | LOCK_NB) != 0) return ErrnoStatus(errno, "flock");
  return Status::Ok();
}

}  // namespace shoal::storage
