#include "storage/directory_reader.h"

#include <fcntl.h>
#include <sys/stat.h>

namespace shoal::storage {

Result<std::unique_ptr<DirectoryReader>> DirectoryReader::Open(Brick& brick, NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, brick.OpenDirectory(node));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return ErrnoStatus(errno, "fdopendir");
  fd.Release();
  return std::make_unique<DirectoryReader>(brick, node, dir);
}

Result<proto::ReadDirResponse> DirectoryReader::Read(uint64_t cookie, uint32_t entries_max, bool plus) {
  std::lock_guard lock(mutex_);
  if (cookie != position_) {
    if (cookie == 0) ::rewinddir(dir_);
    else ::seekdir(dir_, static_cast<long>(cookie));
    position_ = cookie;
  }
  proto::ReadDirResponse response;
  while (static_cast<uint32_t>(response.entries_size()) < entries_max) {
    errno = 0;
    struct dirent* found = ::readdir(dir_);
    if (found == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "readdir");
      response.set_end(true);
      break;
    }
    position_ = static_cast<uint64_t>(found->d_off);
    std::string_view name(found->d_name);
    if (node_ == kRootNode && name == kStateDirName) continue;
    auto id = brick_.IdOfEntry(node_, fd(), name, found->d_ino);
    if (!id.ok()) continue;  // removed while we listed: as if readdir had not seen it
    proto::DirEntry* entry = response.add_entries();
    entry->set_name(found->d_name);
    entry->set_cookie(position_);
    entry->set_type(found->d_type);
    entry->mutable_attr()->set_ino(*id);
    if (plus && name != "." && name != "..") {
      struct stat st;
      if (::fstatat(fd(), found->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        response.mutable_entries()->RemoveLast();
        continue;
      }
      *entry->mutable_attr() = AttrFromStat(*id, st);
      NoteXattrFree(fd(), name, *entry->mutable_attr());
    }
  }
  return response;
}

}  // namespace shoal::storage
