#include "storage/id_allocator.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "common/unique_fd.h"

namespace shoal::storage {

Result<std::unique_ptr<IdAllocator>> IdAllocator::Open(const std::string& path) {
  uint64_t next = kRootId + 1;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) {
    char text[32] = {};
    ssize_t n = ::read(fd.get(), text, sizeof text - 1);
    if (n <= 0 || std::from_chars(text, text + n, next).ec != std::errc() || next <= kRootId)
      return Status(Code::kIoError, fmt::format("id reservation file {} is corrupt", path));
  } else if (errno != ENOENT) {
    return ErrnoStatus(errno, fmt::format("reading {}", path));
  }
  return std::unique_ptr<IdAllocator>(new IdAllocator(path, next));
}

Status IdAllocator::Reserve(uint64_t end) {
  std::string tmp = path_ + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("creating {}", tmp));
  std::string text = std::to_string(end);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0)
    return ErrnoStatus(errno, fmt::format("writing {}", tmp));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return ErrnoStatus(errno, "renaming id reservation");
  end_ = end;
  return Status::Ok();
}

Result<uint64_t> IdAllocator::Next() {
  std::lock_guard lock(mutex_);
  if (next_ >= end_) SHOAL_RETURN_IF_ERROR(Reserve(next_ + kBlockIds));
  return next_++;
}

Status IdAllocator::Observe(uint64_t id) {
  std::lock_guard lock(mutex_);
  if (id < next_) return Status::Ok();
  next_ = id + 1;
  if (next_ >= end_) SHOAL_RETURN_IF_ERROR(Reserve(next_ + kBlockIds));
  return Status::Ok();
}

}  // namespace shoal::storage
