#include "storage/directory_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <tuple>

namespace shoal::storage {

uint64_t DirectoryCookie(std::string_view name) {
  // Below 2^63 (FUSE offsets are signed) and above the cookies of "." and "..".
  const uint64_t hash = XXH3_64bits(name.data(), name.size()) >> 1;
  return hash > 2 ? hash : hash + 3;
}

Result<std::unique_ptr<DirectoryReader>> DirectoryReader::Open(Brick& brick, NodeId node) {
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, brick.OpenDirectory(node));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return ErrnoStatus(errno, "fdopendir");
  fd.Release();
  return std::make_unique<DirectoryReader>(brick, node, dir);
}

Status DirectoryReader::TakeNames() {
  names_.clear();
  ::rewinddir(dir_);
  for (;;) {
    errno = 0;
    struct dirent* found = ::readdir(dir_);
    if (found == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "readdir");
      break;
    }
    std::string_view name(found->d_name);
    if (node_ == kRootNode && name == kStateDirName) continue;
    const uint64_t cookie = name == "." ? 1 : name == ".." ? 2 : DirectoryCookie(name);
    names_.push_back({.cookie = cookie, .name = std::string(name), .type = found->d_type, .ino = found->d_ino});
  }
  std::sort(names_.begin(), names_.end(),
            [](const Listed& a, const Listed& b) { return std::tie(a.cookie, a.name) < std::tie(b.cookie, b.name); });
  listed_ = true;
  return Status::Ok();
}

Result<proto::ReadDirResponse> DirectoryReader::Read(uint64_t cookie, uint32_t entries_max, bool plus) {
  std::lock_guard lock(mutex_);
  if (cookie == 0 || !listed_) SHOAL_RETURN_IF_ERROR(TakeNames());
  auto next = std::upper_bound(names_.begin(), names_.end(), cookie,
                               [](uint64_t c, const Listed& listed) { return c < listed.cookie; });
  proto::ReadDirResponse response;
  for (; next != names_.end() && static_cast<uint32_t>(response.entries_size()) < entries_max; ++next) {
    const Listed& listed = *next;
    auto id = brick_.IdOfEntry(node_, fd(), listed.name, listed.ino);
    if (!id.ok()) continue;  // removed since the listing began: as if it had not been there
    proto::DirEntry* entry = response.add_entries();
    entry->set_name(listed.name);
    entry->set_cookie(listed.cookie);
    entry->set_type(listed.type);
    entry->mutable_attr()->set_ino(*id);
    if (plus && listed.name != "." && listed.name != "..") {
      struct stat st;
      if (::fstatat(fd(), listed.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        response.mutable_entries()->RemoveLast();
        continue;
      }
      *entry->mutable_attr() = AttrFromStat(*id, st);
      NoteXattrFree(fd(), listed.name, *entry->mutable_attr());
    }
  }
  response.set_end(next == names_.end());
  return response;
}

}  // namespace shoal::storage
